#!/usr/bin/env bash
# Start a local PostgreSQL server for the database tests (sourced by tests/run.sh).
# Installs Debian's postgresql when missing (root only); exports SURFCHEM_TEST_PG_URL on success.
start_postgres() {
  [ "$(id -u)" = 0 ] || { echo "postgres: not root, PostgreSQL tests will be skipped" >&2; return 0; }
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || return 1
  fi
  local ver
  ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  pg_lsclusters -h | grep -q "^$ver *main" || pg_createcluster "$ver" main >/dev/null
  pg_ctlcluster "$ver" main start 2>/dev/null || true
  for _ in $(seq 1 30); do
    su postgres -c "psql -tAc 'SELECT 1'" >/dev/null 2>&1 && break
    sleep 0.5
  done
  su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='surfchem'\"" | grep -q 1 \
    || su postgres -c "psql -qc \"CREATE ROLE surfchem LOGIN SUPERUSER PASSWORD 'surfchem'\""
  su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='surfchem_test'\"" | grep -q 1 \
    || su postgres -c "createdb -O surfchem surfchem_test"
  export SURFCHEM_TEST_PG_URL="postgresql://surfchem:surfchem@127.0.0.1:5432/surfchem_test"
  echo "postgres: $ver running, SURFCHEM_TEST_PG_URL set" >&2
}
