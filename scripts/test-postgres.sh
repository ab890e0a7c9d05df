#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster for the test suite, unless one is already reachable.
# Prints the SQLAlchemy URL on stdout; everything else goes to stderr.
#   HANGAR_TEST_PG_URL set and reachable -> reuse it
#   else -> initdb under $PGTEST_DIR (default /tmp/hangar-test-pg) on port $PGTEST_PORT (55432)
set -euo pipefail

port="${PGTEST_PORT:-55432}"
dir="${PGTEST_DIR:-/tmp/hangar-test-pg}"
url="postgresql+psycopg://hangar:hangar@127.0.0.1:${port}/hangar"

if [[ -n "${HANGAR_TEST_PG_URL:-}" ]]; then
  echo "$HANGAR_TEST_PG_URL"
  exit 0
fi

bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
if [[ -z "$bin" ]]; then
  echo "PostgreSQL server binaries not found; run 'make deps' (installs Debian's postgresql)" >&2
  exit 1
fi

if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  echo "$url"
  exit 0
fi

# The server refuses to run as root: the cluster belongs to the 'postgres' system user.
run_as() { if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [[ ! -f "$dir/data/PG_VERSION" ]]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  [[ "$(id -u)" == 0 ]] && chown postgres:postgres "$dir"
  echo "hangar" > "$dir/.pw" && chmod 600 "$dir/.pw"
  [[ "$(id -u)" == 0 ]] && chown postgres:postgres "$dir/.pw"
  run_as "$bin/initdb" -D "$dir/data" -U hangar --pwfile="$dir/.pw" -A scram-sha-256 \
    --auth-local=trust -E UTF8 >&2
fi
run_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >&2
run_as "$bin/psql" -h "$dir" -p "$port" -U hangar -d postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname='hangar'" | grep -q 1 \
  || run_as "$bin/createdb" -h "$dir" -p "$port" -U hangar hangar >&2
echo "$url"
