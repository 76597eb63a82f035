#!/usr/bin/env bash
# The production server (P6-9): waitress, which reads each request whole (headers and body) in its I/O
# thread before a worker thread runs the application, so slow or stalled clients hold a connection, not
# a worker. Measured in bench/slow_clients.md. Put a buffering reverse proxy in front all the same (README).
# Usage: ./scripts/serve.sh            (HOST, PORT, CHORUS_THREADS, CHORUS_CONNECTION_LIMIT from the environment)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CHORUS_BIN:-.venv/bin}
exec "$BIN/waitress-serve" \
  --listen="${HOST:-127.0.0.1}:${PORT:-8000}" \
  --threads="${CHORUS_THREADS:-8}" \
  --connection-limit="${CHORUS_CONNECTION_LIMIT:-1000}" \
  --channel-timeout=30 \
  --max-request-header-size=65536 \
  --max-request-body-size=6291456 \
  --asyncore-use-poll \
  --ident=chorus \
  app:app
