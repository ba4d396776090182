#!/usr/bin/env bash
# Install what SISO Partners needs on a fresh Debian machine (idempotent).
#   scripts/install.sh        runtime: system libraries, .venv from requirements.lock
#   scripts/install.sh dev    also test tools: PostgreSQL, poppler, Chromium, nginx, requirements-dev.lock
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"

pkgs=(redis-server libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)
if [ "$mode" = dev ]; then
  # nginx: the cluster test runs deploy/nginx/siso.conf (tests/ops/test_cluster.py)
  pkgs+=(postgresql poppler-utils chromium nginx)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing system packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# The hashed lock files (`make lock` writes them from requirements*.txt): every package,
# dependencies too, at one version with its hashes; pip refuses anything else.
lock=requirements.lock
[ "$mode" = dev ] && lock=requirements-dev.lock
stamp=".venv/.installed-$(cat requirements.lock requirements-dev.lock | sha256sum | cut -c1-16)-$mode"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --disable-pip-version-check --require-hashes -r "$lock"
  touch "$stamp"
fi
# The project itself, editable: its packages import from anywhere, no sys.path edits.
if [ ! -f .venv/.installed-project ]; then
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -e . \
    --config-settings editable_mode=compat  # the checkout on sys.path, for scripts too
  touch .venv/.installed-project
fi
