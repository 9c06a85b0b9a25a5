#!/usr/bin/env bash
# CI check of the .deb: builds it from the debug build (scripts/package.sh
# --debug), runs lintian (errors fail) and desktop-file-validate, installs it
# with dpkg, checks the programs, the unit (systemd-analyze verify), the
# chatroom user and the config, starts the installed server as that user with
# that config, then purges the package and checks nothing of it is left.
# Needs root; refuses to run where a chatroom package is installed already.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

fail() { echo "package-check: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "needs root: it installs and purges the chatroom package"
state=$(dpkg-query -W -f='${db:Status-Status}' chatroom 2>/dev/null || true)
[[ -z "$state" || "$state" == not-installed ]] \
  || fail "the chatroom package is on this system ($state); this check would purge it and its data. Purge it first: dpkg --purge chatroom"

scripts/package.sh --debug
version=$(sed -n '1s/^chatroom (\([^)]*\)).*/\1/p' packaging/changelog)
deb=dist/chatroom_${version}_amd64.deb
[[ -f "$deb" ]] || fail "scripts/package.sh wrote no $deb"
for tool in lintian desktop-file-validate systemd-analyze; do
  command -v "$tool" >/dev/null || fail "$tool is missing (scripts/apt-packages.txt)"
done

# lintian: warnings are shown, errors fail.
lintian --allow-root --fail-on error --display-info "$deb" || fail "lintian found errors in $deb"
desktop-file-validate assets/chatroom.desktop || fail "assets/chatroom.desktop is not valid"

work=$(mktemp -d)
installed=""
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  [[ -n "$installed" ]] && dpkg --purge chatroom >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

installed=yes
dpkg -i "$deb" >"$work/dpkg.out" 2>&1 || { cat "$work/dpkg.out"; fail "dpkg -i failed"; }

# The programs run, and find every library they link.
chatroom-server --version | grep -qx "chatroom-server $version" || fail "chatroom-server --version does not say $version"
chatroom-cli --help >/dev/null || fail "chatroom-cli --help failed"
chatroom-otp --version >/dev/null || fail "chatroom-otp --version failed"
chatroom --version >/dev/null || fail "chatroom --version failed"
for b in chatroom chatroom-cli chatroom-otp chatroom-server; do
  ! ldd "/usr/bin/$b" | grep -q "not found" || fail "/usr/bin/$b misses a library: $(ldd "/usr/bin/$b" | grep "not found")"
  [[ -f "/usr/share/man/man1/$b.1.gz" ]] || fail "no manual page for $b"
done

# The menu entry starts the installed app and shows its icon.
desktop-file-validate /usr/share/applications/chatroom.desktop || fail "installed chatroom.desktop is not valid"
exec_cmd=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' /usr/share/applications/chatroom.desktop)
[[ "$(command -v "$exec_cmd")" == /usr/bin/chatroom ]] || fail "the menu entry runs '$exec_cmd', not /usr/bin/chatroom"
icon=$(sed -n 's/^Icon=//p' /usr/share/applications/chatroom.desktop)
[[ -f /usr/share/icons/hicolor/256x256/apps/$icon.png ]] || fail "no icon $icon in hicolor"

# The service: a valid unit, its own user, the config in place and kept
# from other users (it may hold passwords), data owned by that user.
unit=/lib/systemd/system/chatroom-server.service
systemd-analyze verify "$unit" >"$work/verify.out" 2>&1 || { cat "$work/verify.out"; fail "systemd-analyze verify failed"; }
if grep -q chatroom "$work/verify.out"; then cat "$work/verify.out"; fail "systemd-analyze verify warns about the unit"; fi
getent passwd chatroom >/dev/null || fail "no chatroom user"
[[ "$(getent passwd chatroom | cut -d: -f7)" == */nologin ]] || fail "the chatroom user can log in"
[[ -f /etc/chatroom/server.toml ]] || fail "no /etc/chatroom/server.toml"
[[ "$(stat -c '%U:%G %a' /etc/chatroom/server.toml)" == "root:chatroom 640" ]] \
  || fail "/etc/chatroom/server.toml is $(stat -c '%U:%G %a' /etc/chatroom/server.toml), not root:chatroom 640"
dpkg-query -W -f='${Conffiles}\n' chatroom | grep -q "/etc/chatroom/server.toml" || fail "server.toml is not a conffile"
[[ "$(stat -c %U /var/lib/chatroom)" == chatroom ]] || fail "/var/lib/chatroom is not the chatroom user's"

# The installed server starts as its user with the installed config (on a
# free port: flags override the file). setpriv execs it, so $! is the server.
setpriv --reuid=chatroom --regid=chatroom --init-groups --reset-env \
  chatroom-server --config /etc/chatroom/server.toml --listen 127.0.0.1:0 \
  >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 100); do
  grep -q fingerprint "$work/server.out" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q fingerprint "$work/server.out" || { cat "$work/server.err"; fail "the installed server did not start"; }
[[ -f /var/lib/chatroom/certs/ca.pem ]] || fail "the server wrote no certificates to /var/lib/chatroom"
kill -TERM "$server_pid"
wait "$server_pid" || fail "the server did not stop cleanly on SIGTERM"
server_pid=""

# Purge: nothing of the package is left but the system user.
dpkg --purge chatroom >"$work/dpkg.out" 2>&1 || { cat "$work/dpkg.out"; fail "dpkg --purge failed"; }
installed=""
state=$(dpkg-query -W -f='${db:Status-Status}' chatroom 2>/dev/null || true)
[[ -z "$state" || "$state" == not-installed ]] || fail "chatroom is still $state after purge"
for path in /usr/bin/chatroom /usr/bin/chatroom-cli /usr/bin/chatroom-otp /usr/bin/chatroom-server \
  /usr/share/applications/chatroom.desktop /usr/share/icons/hicolor/256x256/apps/chatroom.png \
  "$unit" /etc/systemd/system/multi-user.target.wants/chatroom-server.service \
  /etc/chatroom /var/lib/chatroom; do
  [[ ! -e "$path" && ! -L "$path" ]] || fail "$path is left after purge"
done
! dpkg-statoverride --list /etc/chatroom/server.toml >/dev/null || fail "the config's stat override is left after purge"
echo "package-check: $deb passed (lintian, desktop entry, install, unit, user, config, server start, purge)"
