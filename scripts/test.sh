#!/usr/bin/env bash
# Install everything (Debian packages chromium and postgresql, Python packages in .venv) and run the
# whole test suite twice: on SQLite, then on a real PostgreSQL server started for the run.
# Extra arguments go to pytest, e.g. ./scripts/test.sh -k accounts
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

# --- system packages -------------------------------------------------------------------------
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- Python packages -------------------------------------------------------------------------
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

PYTEST=(.venv/bin/python -m pytest -n 2 -p no:cacheprovider "$@")

# --- 0. Lint (pyflakes, pycodestyle, import order, bugbear: see [tool.ruff] in pyproject.toml) --
echo "=== ruff"
lint_status=0
.venv/bin/ruff check . || lint_status=$?

# --- 1. SQLite -------------------------------------------------------------------------------
echo "=== Test suite on SQLite"
sqlite_status=0
"${PYTEST[@]}" || sqlite_status=$?

# --- 1b. The core without the feature plugins (plugins/ switched off), on SQLite, no browser ---------
core_status=0
if .venv/bin/python -c "from chorus.config import Defaults; raise SystemExit(0 if Defaults.PLUGINS else 1)"; then
  echo "=== Core test suite on SQLite with every feature plugin switched off"
  CHORUS_TEST_DISABLED_PLUGINS=all "${PYTEST[@]}" -m "not browser" -q || core_status=$?
fi

# --- 2. PostgreSQL: a throw-away cluster on its own port ------------------------------------
PG_VERSION=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
PG_PORT=${CHORUS_TEST_PG_PORT:-54329}
CLUSTER=chorus_test
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$PG_VERSION $CLUSTER"; then
  as_root pg_createcluster "$PG_VERSION" "$CLUSTER" -p "$PG_PORT" >/dev/null
fi
as_root pg_ctlcluster "$PG_VERSION" "$CLUSTER" start 2>/dev/null || true
trap 'as_root pg_ctlcluster "$PG_VERSION" "$CLUSTER" stop 2>/dev/null || true' EXIT
as_postgres psql -q -p "$PG_PORT" -d postgres -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'chorus') THEN
    CREATE ROLE chorus LOGIN PASSWORD 'chorus' SUPERUSER;
  END IF;
END $$;
SQL

echo "=== Test suite on PostgreSQL $PG_VERSION"
pg_status=0
CHORUS_TEST_DATABASE_URL="postgresql+psycopg://chorus:chorus@127.0.0.1:$PG_PORT/chorus_test" \
  "${PYTEST[@]}" || pg_status=$?

if [ "$lint_status" -ne 0 ] || [ "$sqlite_status" -ne 0 ] || [ "$core_status" -ne 0 ] || [ "$pg_status" -ne 0 ]; then
  echo "FAILED: ruff exit $lint_status, SQLite exit $sqlite_status, core without plugins exit $core_status," \
       "PostgreSQL exit $pg_status"
  exit 1
fi
echo "All tests passed on SQLite and PostgreSQL."
