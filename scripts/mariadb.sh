#!/usr/bin/env bash
# Makes sure MariaDB answers on 127.0.0.1:3306 (root, empty password) for the
# MySQL store tests, starting the machine's mariadbd if it is down.
#
# Exit status: 0 when MariaDB answers. When it cannot be reached, fails loudly
# (exit 1) under CI=true; elsewhere only warns, since a developer may run
# without MariaDB (and then sets CHATROOM_SKIP_MYSQL=1 for the tests).
set -euo pipefail

admin=$(command -v mariadb-admin || command -v mysqladmin || true)

ping() {
    [ -n "$admin" ] && "$admin" --host=127.0.0.1 --port=3306 --user=root --connect-timeout=2 ping >/dev/null 2>&1
}

if ping; then
    exit 0
fi

if [ -x /usr/sbin/mariadbd ]; then
    echo "mariadb.sh: MariaDB is not answering; starting /usr/sbin/mariadbd" >&2
    # The socket directory lives on a tmpfs that a fresh boot empties.
    if id mysql >/dev/null 2>&1 && [ ! -d /run/mysqld ]; then
        install -d -o mysql -g mysql /run/mysqld
    fi
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    for _ in $(seq 1 120); do
        if ping; then
            echo "mariadb.sh: MariaDB is up" >&2
            exit 0
        fi
        sleep 0.5
    done
fi

message="MariaDB is unreachable on 127.0.0.1:3306 (root, empty password)"
if [ -z "$admin" ]; then
    message="$message: neither mariadb-admin nor mysqladmin is installed"
fi
if [ "${CI:-}" = "true" ]; then
    echo "mariadb.sh: ERROR: $message; the MySQL store tests cannot run" >&2
    exit 1
fi
echo "mariadb.sh: WARNING: $message; the MySQL store tests will fail unless CHATROOM_SKIP_MYSQL=1" >&2
