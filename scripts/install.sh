#!/usr/bin/env bash
# Install newsworker into a virtualenv (.venv by default). Usage: scripts/install.sh [EXTRAS]
#   scripts/install.sh          the worker, its CLI and every runtime dependency
#   scripts/install.sh test     the same plus what the tests need (with npm: axe-core for the
#                               pages' accessibility tests, and the chart library the pages
#                               vendor, into node_modules/ as package-lock.json pins them)
# The Dockerfile runs this same script, so the image installs exactly what this does.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${NEWSWORKER_VENV:-.venv}"
python="${PYTHON:-python3}"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip>=23.2"
spec="."
[ -n "${1:-}" ] && spec=".[$1]"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec"
if [ "${1:-}" = test ]; then
  command -v npm >/dev/null || { echo "install.sh test: npm is needed (apt-get install npm)" >&2; exit 1; }
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "installed: $venv/bin/newsworker" >&2
