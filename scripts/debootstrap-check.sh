#!/usr/bin/env bash
# Installs the chatroom .deb on a clean Debian 12 (bookworm) made with
# debootstrap, apt resolving its Depends, then starts the installed server as
# its chatroom user with /etc/chatroom/server.toml, has the installed
# chatroom-cli register two users and chat through it, and purges the
# package. Needs root and deb.debian.org (DEBIAN_MIRROR to use another);
# takes a few minutes, so it is run by hand after packaging changes, not in CI.
#
#   scripts/debootstrap-check.sh [PACKAGE.deb]   # default: scripts/package.sh --release, then its .deb
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

fail() { echo "debootstrap-check: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "needs root (debootstrap, chroot, mount)"
scripts/setup.sh
command -v debootstrap >/dev/null || fail "debootstrap is missing (scripts/apt-packages.txt)"

if [[ $# -gt 0 ]]; then
  deb=$(realpath "$1")
else
  scripts/package.sh --release
  version=$(sed -n '1s/^chatroom (\([^)]*\)).*/\1/p' packaging/changelog)
  deb=$root/dist/chatroom_${version}_amd64.deb
fi
[[ -f "$deb" ]] || fail "no package at $deb"

sys=$(mktemp -d /var/tmp/chatroom-bookworm.XXXXXX)
# It becomes the chroot's /, which other users (_apt, chatroom) must enter.
chmod 755 "$sys"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  umount "$sys/dev/pts" 2>/dev/null || true
  umount "$sys/proc" 2>/dev/null || true
  # Never delete through a mount that is still there.
  if findmnt -rn -o TARGET | grep -q "^$sys/"; then
    echo "debootstrap-check: $sys still has mounts; left in place" >&2
  else
    rm -rf "$sys"
  fi
}
trap cleanup EXIT

# In a clean environment: nothing of this machine's PATH or settings leaks in.
clean_env=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)
in_sys() { "${clean_env[@]}" chroot "$sys" "$@"; }

echo "debootstrap-check: making a clean bookworm in $sys"
# The downloaded .debs are kept, so a rerun fetches nothing again.
cache=${XDG_CACHE_HOME:-$HOME/.cache}/chatroom/debootstrap
mkdir -p "$cache"
debootstrap --variant=minbase --cache-dir="$cache" bookworm "$sys" "$mirror" >"$sys.log" 2>&1 \
  || { tail -20 "$sys.log"; fail "debootstrap failed (log: $sys.log)"; }
rm -f "$sys.log"
mount -t proc proc "$sys/proc"
# apt logs through a terminal.
mount --bind /dev/pts "$sys/dev/pts"

echo "debootstrap-check: installing $(basename "$deb") with apt"
cp "$deb" "$sys/tmp/chatroom.deb"
in_sys apt-get update -qq
in_sys apt-get install -y -qq --no-install-recommends /tmp/chatroom.deb >/dev/null \
  || fail "apt could not install the package"
# Recommends (the app's libraries and font) are not installed here, to keep
# this quick; each must at least exist in bookworm.
recommends=$(in_sys dpkg-query -W -f='${Recommends}' chatroom | tr -d ' ' | tr ',' ' ')
for choice in $recommends; do
  found=""
  for pkg in ${choice//|/ }; do
    in_sys apt-cache show --no-all-versions "$pkg" >/dev/null 2>&1 && found=yes && break
  done
  [[ -n "$found" ]] || fail "Recommends $choice: not in bookworm"
done
for b in chatroom chatroom-cli chatroom-otp chatroom-server; do
  in_sys "$b" --version >/dev/null || fail "$b --version failed on the clean system"
done
in_sys getent passwd chatroom >/dev/null || fail "no chatroom user"

echo "debootstrap-check: starting the installed server as the chatroom user"
out=$sys/tmp/server.out
err=$sys/tmp/server.err
# env, chroot and setpriv each exec the next (no shell function, no process
# in between), so $server_pid is the server. The address is free on the
# host, which shares the chroot's network.
"${clean_env[@]}" chroot "$sys" setpriv --reuid=chatroom --regid=chatroom --init-groups --reset-env \
  chatroom-server --config /etc/chatroom/server.toml --listen 127.0.0.1:0 >"$out" 2>"$err" &
server_pid=$!
for _ in $(seq 100); do
  grep -q fingerprint "$out" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q fingerprint "$out" || { cat "$err"; fail "the installed server did not start"; }
addr=$(sed -n 's/^Chatroom server listening on \([^ ]*\).*/\1/p' "$out")
pin=$(sed -n 's/^CA SHA-256 fingerprint: //p' "$out")
echo "debootstrap-check: server on $addr"

cli() { in_sys env CHATROOM_SERVER="$addr" CHATROOM_PIN="$pin" CHATROOM_PASSPHRASE="a passphrase of ours" chatroom-cli "$@"; }
cli register alice alice@example.org
cli register bob bob@example.org
cli --user bob listen lobby --count 1 >"$sys/tmp/bob.out" &
listen_pid=$!
for _ in $(seq 100); do
  cli --user alice who lobby | grep -qx bob && break
  sleep 0.2
done
cli --user alice send lobby "hello from a clean bookworm"
wait "$listen_pid" || fail "bob's listen failed"
grep -q "alice: hello from a clean bookworm" "$sys/tmp/bob.out" || { cat "$sys/tmp/bob.out"; fail "bob did not get alice's message"; }
# Without SMTP the registration mails are files in the data directory.
for _ in $(seq 50); do
  compgen -G "$sys/var/lib/chatroom/outbox/*.eml" >/dev/null && break
  sleep 0.1
done
[[ $(find "$sys/var/lib/chatroom/outbox" -name '*.eml' 2>/dev/null | wc -l) -ge 2 ]] \
  || fail "no registration mails in /var/lib/chatroom/outbox"

kill -TERM "$server_pid"
wait "$server_pid" || { cat "$err"; fail "the server did not stop cleanly on SIGTERM"; }
server_pid=""
grep -q "shutdown complete" "$err" || fail "no 'shutdown complete' in the server's log"

in_sys apt-get purge -y -qq chatroom >/dev/null || fail "apt could not purge the package"
for path in /usr/bin/chatroom-server /etc/chatroom /var/lib/chatroom; do
  [[ ! -e "$sys$path" ]] || fail "$path is left after purge"
done
echo "debootstrap-check: passed in ${SECONDS}s (install with apt, server as its user, two CLI users chatting, purge)"
