#!/usr/bin/env bash
# Builds the Linux packages: dist/chatroom_<version>_amd64.deb (app, CLI, OTP
# calculator, server with its systemd unit) and
# dist/chatroom-<version>-x86_64-linux.tar.gz, from packaging/ and assets/.
#
#   scripts/package.sh [--dist|--release|--debug]
#     --dist (the default): Cargo.toml's dist profile, fat LTO and one codegen
#       unit (7 % fewer instructions per delivery in the server; a build of
#       the workspace's four binaries takes several minutes longer)
#     --release: the release profile, quicker to build
#     --debug: packages the debug build (CI)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

profile=dist
case "${1:---dist}" in
  --dist) profile=dist ;;
  --release) profile=release ;;
  --debug) profile=debug ;;
  *) echo "usage: scripts/package.sh [--dist|--release|--debug]" >&2; exit 2 ;;
esac

scripts/setup.sh
for tool in dpkg-deb dpkg-shlibdeps help2man strip; do
  command -v "$tool" >/dev/null || { echo "package: $tool is missing (scripts/apt-packages.txt)" >&2; exit 1; }
done

version=$(sed -n '/^\[workspace\.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
[[ -n "$version" ]] || { echo "package: no version in Cargo.toml's [workspace.package]" >&2; exit 1; }
changelog_version=$(sed -n '1s/^chatroom (\([^)]*\)).*/\1/p' packaging/changelog)
[[ "$changelog_version" == "$version" ]] || {
  echo "package: packaging/changelog is at $changelog_version, Cargo.toml at $version: add a changelog entry" >&2
  exit 1
}
# File dates in the packages and the manual pages' date are the changelog
# entry's, not the time of the build.
SOURCE_DATE_EPOCH=$(date -d "$(sed -n 's/^ -- .*>  //p' packaging/changelog | head -1)" +%s)
export SOURCE_DATE_EPOCH

# The server's example settings become /etc/chatroom/server.toml; the unit,
# the maintainer scripts and INSTALL count on its data directory.
grep -qx 'data-dir = "/var/lib/chatroom"' server/server.example.toml \
  || { echo 'package: server/server.example.toml must keep data-dir = "/var/lib/chatroom"' >&2; exit 1; }

bins=(chatroom chatroom-cli chatroom-otp chatroom-server)
build=(cargo build -q --workspace)
[[ $profile != debug ]] && build+=(--profile "$profile")
for b in "${bins[@]}"; do build+=(--bin "$b"); done
"${build[@]}"
target=${CARGO_TARGET_DIR:-$root/target}/$profile

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
deb=$stage/deb
umask 022

# Files shared by the .deb and the tarball.
install -d "$deb/usr/bin"
for b in "${bins[@]}"; do
  install -m 755 "$target/$b" "$deb/usr/bin/$b"
  # As dh_strip does: no debug information or build notes in the package.
  strip --remove-section=.comment --remove-section=.note --strip-unneeded "$deb/usr/bin/$b"
done
install -D -m 644 assets/chatroom.desktop "$deb/usr/share/applications/chatroom.desktop"
install -D -m 644 assets/chatroom.png "$deb/usr/share/icons/hicolor/256x256/apps/chatroom.png"
declare -A about=(
  [chatroom]="desktop app for Chatroom, a group chat over QUIC"
  [chatroom-cli]="command-line client for Chatroom"
  [chatroom-otp]="RFC 2289 one-time-password calculator"
  [chatroom-server]="Chatroom server: group chat over QUIC"
)
install -d "$deb/usr/share/man/man1"
for b in "${bins[@]}"; do
  # The version line names each program as the manual should (the app's own
  # --version says chatroom-app, its crate).
  help2man --no-info --no-discard-stderr --name "${about[$b]}" --version-string "$b $version" "$deb/usr/bin/$b" \
    | gzip -9n >"$deb/usr/share/man/man1/$b.1.gz"
done

# The .deb: the server's unit, config (a conffile) and maintainer scripts.
install -D -m 644 packaging/chatroom-server.service "$deb/lib/systemd/system/chatroom-server.service"
install -D -m 644 server/server.example.toml "$deb/etc/chatroom/server.toml"
install -D -m 644 packaging/copyright "$deb/usr/share/doc/chatroom/copyright"
gzip -9n <packaging/changelog >"$deb/usr/share/doc/chatroom/changelog.gz"
chmod 644 "$deb/usr/share/doc/chatroom/changelog.gz"
install -d "$deb/DEBIAN"
install -m 755 packaging/postinst packaging/prerm packaging/postrm "$deb/DEBIAN/"
echo /etc/chatroom/server.toml >"$deb/DEBIAN/conffiles"
chmod 644 "$deb/DEBIAN/conffiles"

# Libraries the binaries link; dpkg-shlibdeps wants a debian/control to read.
mkdir -p "$stage/shlibs/debian"
printf 'Source: chatroom\n\nPackage: chatroom\nArchitecture: amd64\n' >"$stage/shlibs/debian/control"
shlibs=$(cd "$stage/shlibs" && dpkg-shlibdeps -O "${bins[@]/#/-e$deb/usr/bin/}" | sed -n 's/^shlibs:Depends=//p')
[[ -n "$shlibs" ]] || { echo "package: dpkg-shlibdeps found no libraries" >&2; exit 1; }
glibc=$(sed -n 's/.*libc6 (>= \([^)]*\)).*/\1/p' <<<"$shlibs")

# What the app loads at run time (dlopen, so dpkg-shlibdeps cannot see it):
# OpenGL through EGL, Mesa's drivers, keyboard maps, X11 and Wayland, the
# CJK font, and the desktop portal that shows its file chooser (over D-Bus).
# Recommends rather than Depends, so a server without a desktop can install
# with --no-install-recommends.
recommends="libegl1, libgl1-mesa-dri, libxkbcommon0, libxkbcommon-x11-0, libx11-xcb1, libxcursor1, libxrandr2, libxi6, libwayland-client0, libwayland-cursor0, libwayland-egl1, fonts-noto-cjk, xdg-desktop-portal, xdg-desktop-portal-gtk | xdg-desktop-portal-backend"
(cd "$deb" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$deb/DEBIAN/md5sums"
chmod 644 "$deb/DEBIAN/md5sums"
installed_size=$(du -sk --exclude=DEBIAN "$deb" | cut -f1)
cat >"$deb/DEBIAN/control" <<EOF
Package: chatroom
Version: $version
Architecture: amd64
Maintainer: Chatroom Dev <dev@chatroom.invalid>
Installed-Size: $installed_size
Depends: adduser, $shlibs
Recommends: $recommends
Section: net
Priority: optional
Description: self-hosted group chat over QUIC
 Chatroom is a group chat: rooms and direct messages, history, who is
 online, avatars, Chinese and emoji. Logins use RFC 2289 S/KEY one-time
 passwords over TLS 1.3, so passwords are never sent, and each message
 travels on its own QUIC stream.
 .
 This package holds the desktop app (chatroom, in the application menu),
 the command-line client (chatroom-cli), the one-time-password calculator
 (chatroom-otp) and the server (chatroom-server), which runs as the
 chatroom-server systemd service under its own user, with its settings in
 /etc/chatroom/server.toml and its data in /var/lib/chatroom.
EOF
chmod 644 "$deb/DEBIAN/control"

mkdir -p dist
deb_file=dist/chatroom_${version}_amd64.deb
dpkg-deb --root-owner-group --build "$deb" "$deb_file" >/dev/null

# The tarball: the same files laid out like /usr/local, with the unit
# pointing there, the example config and INSTALL.
name=chatroom-$version-x86_64-linux
tree=$stage/tar/$name
install -d "$tree"
cp -a "$deb/usr/bin" "$deb/usr/share" "$tree/"
rm -r "$tree/share/doc"
sed 's|/usr/bin/chatroom-server|/usr/local/bin/chatroom-server|' packaging/chatroom-server.service >"$tree/chatroom-server.service"
install -m 644 server/server.example.toml "$tree/server.toml"
sed -e "s/@VERSION@/$version/" -e "s/@GLIBC@/$glibc/" packaging/INSTALL >"$tree/INSTALL"
chmod 644 "$tree/chatroom-server.service" "$tree/INSTALL"
tar_file=dist/$name.tar.gz
tar -C "$stage/tar" --sort=name --owner=0 --group=0 --numeric-owner \
  --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime -cf - "$name" | gzip -9n >"$tar_file"

ls -l "$deb_file" "$tar_file" | awk '{ printf "package: %s (%.1f MB)\n", $NF, $5 / 1e6 }'
