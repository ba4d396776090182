#!/usr/bin/env bash
# Make sure the test services answer: PostgreSQL (database `test`) and Redis on 127.0.0.1.
set -euo pipefail
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "Starting Redis on 127.0.0.1:6379"
  mkdir -p /tmp/siso-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp/siso-redis --logfile /tmp/siso-redis/redis.log
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "Starting PostgreSQL"
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$ver" ]; then
    echo "PostgreSQL is not installed: run scripts/install.sh dev as root" >&2
    exit 1
  fi
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || pg_ctlcluster "$ver" main start
fi
for i in $(seq 1 50); do
  redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && pg_isready -h 127.0.0.1 -q && break
  sleep 0.2
done
# Trust auth for local TCP is how the machine ships; make sure the test database exists.
if ! psql -h 127.0.0.1 -U postgres -d test -c "select 1" >/dev/null 2>&1; then
  su postgres -c "psql -c \"ALTER USER postgres PASSWORD NULL\"" >/dev/null 2>&1 || true
  su postgres -c "createdb test" 2>/dev/null || createdb -h 127.0.0.1 -U postgres test 2>/dev/null || true
fi
psql -h 127.0.0.1 -U postgres -d test -c "select 1" >/dev/null
