#!/usr/bin/env bash
# Install newsworker into a virtualenv (.venv by default). Usage: scripts/install.sh [EXTRAS|--image]
#   scripts/install.sh          the worker, its CLI, every runtime dependency, the embedded
#                               Redis that `newsworker up` runs and what `newsworker eval` needs
#                               (editable: the checkout is the code)
#   scripts/install.sh test     the same plus what the tests need
#   scripts/install.sh --image  what the Docker image holds: a regular (non-editable) install of
#                               the runtime dependencies only: no embedded Redis, no eval or
#                               test tools, no pip cache, and no pip left in the virtualenv
# The Dockerfile runs this same script (--image).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${NEWSWORKER_VENV:-.venv}"
python="${PYTHON:-python3}"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
if [ "${1:-}" = "--image" ]; then
  "${pip[@]}" install --quiet --no-cache-dir .
  "${pip[@]}" uninstall --quiet --yes pip
else
  "${pip[@]}" install --quiet --upgrade "pip>=23.2"
  extras="embedded,eval${1:+,$1}"
  "${pip[@]}" install --quiet -e ".[$extras]"
fi
echo "installed: $venv/bin/newsworker" >&2
