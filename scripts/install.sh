#!/usr/bin/env bash
# Install newsworker into a virtualenv (.venv by default). Usage: scripts/install.sh [EXTRAS]
#   scripts/install.sh          the worker, its CLI and every runtime dependency
#   scripts/install.sh test     the same plus what the tests need
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
echo "installed: $venv/bin/newsworker" >&2
