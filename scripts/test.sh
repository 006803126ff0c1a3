#!/usr/bin/env bash
# The test command: makes sure PostgreSQL is up (the store suite runs against
# both SQLite and PostgreSQL), then runs every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_url="${PALERMO_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"

ensure_postgres() {
    if command -v pg_isready >/dev/null && pg_isready -h 127.0.0.1 -p 5432 -q; then
        return 0
    fi
    if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null; then
        echo "starting PostgreSQL" >&2
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    fi
    for _ in $(seq 1 30); do
        pg_isready -h 127.0.0.1 -p 5432 -q && return 0
        sleep 1
    done
    echo "PostgreSQL is not reachable at 127.0.0.1:5432; install it or set PALERMO_TEST_PG" >&2
    return 1
}

ensure_database() {
    local db="${pg_url##*/}"
    db="${db%%\?*}"
    if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
        psql -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE \"$db\""
    fi
}

if [ -z "${PALERMO_TEST_PG:-}" ]; then
    ensure_postgres
    ensure_database
fi
export PALERMO_TEST_PG="$pg_url"
cargo test --workspace --no-fail-fast "$@"
