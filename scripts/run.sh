#!/usr/bin/env bash
# `make run`: SQLite in instance/, a local Redis if REDIS_URL answers nothing, demo data on
# an empty database, then the web server on http://127.0.0.1:5000 and one RQ worker.
# Ctrl-C stops all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh run
export FLASK_APP=wsgi.py
export PORT="${PORT:-5000}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
mkdir -p instance

pids=()
cleanup() { trap - INT TERM EXIT; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; }
trap cleanup INT TERM EXIT

if ! .venv/bin/python -c "import redis,sys; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()" "$REDIS_URL" 2>/dev/null; then
  port=$(.venv/bin/python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
  echo "REDIS_URL answers nothing: starting redis-server on 127.0.0.1:$port"
  redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --loglevel warning &
  pids+=($!)
  export REDIS_URL="redis://127.0.0.1:$port/0"
  for i in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

.venv/bin/flask db upgrade
.venv/bin/flask seed-demo --if-empty
.venv/bin/flask worker &
pids+=($!)
echo "SISO Partners on http://127.0.0.1:$PORT  (admin@example.com / partner1@example.com, password siso-demo-2026)"
.venv/bin/python wsgi.py &
pids+=($!)
wait -n "${pids[@]}"
