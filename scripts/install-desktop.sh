#!/usr/bin/env bash
# Installs the Chatroom desktop app for the current user on Linux: the binary
# in ~/.local/bin, the icon and a .desktop entry under ~/.local/share, so the
# app shows in the application menu and starts by double-click.
#
#   scripts/install-desktop.sh [PATH-TO-BINARY]   # default: builds target/release/chatroom
#   scripts/install-desktop.sh --uninstall
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
data="${XDG_DATA_HOME:-$HOME/.local/share}"
bin_dir="$HOME/.local/bin"
desktop="$data/applications/chatroom.desktop"
icon="$data/icons/hicolor/256x256/apps/chatroom.png"

refresh() {
  # Menus pick the entry up without these, only later; run them when present.
  command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
  command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
}

if [[ "${1:-}" == "--uninstall" ]]; then
  rm -f "$bin_dir/chatroom" "$desktop" "$icon"
  refresh
  echo "removed Chatroom from $bin_dir and $data"
  exit 0
fi

bin="${1:-}"
if [[ -z "$bin" ]]; then
  (cd "$root" && cargo build --release -p chatroom-app --bin chatroom)
  bin="${CARGO_TARGET_DIR:-$root/target}/release/chatroom"
fi
[[ -x "$bin" ]] || { echo "install-desktop.sh: $bin is not an executable" >&2; exit 1; }

install -Dm755 "$bin" "$bin_dir/chatroom"
install -Dm644 "$root/assets/chatroom.png" "$icon"
mkdir -p "$(dirname "$desktop")"
# The menu may not have ~/.local/bin on its PATH: point Exec at the file itself.
sed "s|^Exec=.*|Exec=$bin_dir/chatroom|" "$root/assets/chatroom.desktop" >"$desktop"
chmod 644 "$desktop"
refresh
echo "installed: $bin_dir/chatroom, $desktop, $icon"
