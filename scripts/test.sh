#!/usr/bin/env bash
# Runs every test: unit, end-to-end, SQLite and MariaDB stores, the GUI, the
# CLI smoke test, and the serial fault tests. Starts what it needs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup.sh
scripts/mariadb.sh
# The server binary first: the cluster tests that kill a node and the serial
# fault tests run it as a child process.
cargo build -q --workspace --bin chatroom-server
export CHATROOM_SERVER_BIN=${CARGO_TARGET_DIR:-$root/target}/debug/chatroom-server
cargo nextest run --workspace --no-fail-fast
# The end-to-end suite again, against MariaDB instead of SQLite. Selected by a
# filter over the workspace build, not by package: `-p` would resolve features
# apart from the workspace and compile much of the dependency tree again.
# The cluster tests are on MariaDB in the first pass already.
CHATROOM_E2E_STORE=mysql cargo nextest run --workspace -E 'binary(e2e) & !test(/^cluster/)' --no-fail-fast
mariadb -h 127.0.0.1 -u root -N -e "SELECT CONCAT('DROP DATABASE \`', schema_name, '\`;') FROM information_schema.schemata WHERE schema_name LIKE 'chatroom\_e2e\_%'" | mariadb -h 127.0.0.1 -u root
# Fault tests restart services, kill processes, or run the server binary and
# measure its memory (client/tests/e2e/faults/), so they run one at a time.
# They use this build of the server instead of running cargo themselves.
cargo nextest run --workspace --run-ignored only --test-threads 1 --no-tests warn
scripts/smoke-cli.sh
