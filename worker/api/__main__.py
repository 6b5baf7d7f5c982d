"""``python -m worker.api``: what ``newsworker up`` runs (``newsworker api`` is the same)."""

from config import get_settings
from worker.api.server import serve
from worker.logs import setup_logging

settings = get_settings()
setup_logging(settings)
serve(settings)
