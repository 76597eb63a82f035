#!/usr/bin/env bash
# Install Chorus in .venv, create or upgrade the SQLite database in instance/, load the demo data,
# and start the application with its mail sender. Usage: ./scripts/run.sh [--host H] [--port P]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .

.venv/bin/flask --app app chorus db upgrade
.venv/bin/flask --app app chorus demo
exec .venv/bin/flask --app app chorus serve "$@"
