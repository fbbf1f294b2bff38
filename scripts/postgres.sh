#!/usr/bin/env bash
# Install (Debian package) and start a local PostgreSQL server for the records tests; idempotent.
# Prints the export line for the URL, e.g.: eval "$(bash scripts/postgres.sh)"
set -euo pipefail
PORT=${BIOEXIT_PG_PORT:-54329}
CLUSTER=bioexit
ROLE=bioexit
PASSWORD=bioexit
DB=bioexit_test
if ! command -v pg_lsclusters >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "postgres.sh: PostgreSQL is not installed and this is not root; skipping" >&2
        exit 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
fi
VERSION=$(ls /usr/lib/postgresql | sort -V | tail -1)
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "$VERSION $CLUSTER"; then
    pg_createcluster "$VERSION" "$CLUSTER" -p "$PORT" -- --auth-local=peer --auth-host=scram-sha-256 >&2
fi
# fsync stays on: the crash tests rely on it.
if ! pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}' | grep -q online; then
    pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi
PORT=$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $3}')
for _ in $(seq 50); do
    as_postgres psql -p "$PORT" -qtAc "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.2
done
as_postgres psql -p "$PORT" -qtAc "SELECT 1 FROM pg_roles WHERE rolname='$ROLE'" | grep -q 1 \
    || as_postgres psql -p "$PORT" -qc "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'" >&2
as_postgres psql -p "$PORT" -qtAc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1 \
    || as_postgres psql -p "$PORT" -qc "CREATE DATABASE $DB OWNER $ROLE" >&2
echo "export BIOEXIT_TEST_POSTGRES_URL=postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"
