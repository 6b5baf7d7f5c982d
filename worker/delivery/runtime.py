"""What a worker process works with: its settings and the resources built from them (the
ledger, the sinks, the alert rules, the learned chrome, the grouping index), built once at
process init — the one way they reach the tasks.

``start`` runs in the worker's main process at ``worker_init`` (with the settings the Celery app
was configured from: ``settings_of``); ``after_fork`` runs in each pool
process at ``worker_process_init``, building the process's own connections from the same
settings. Tasks ask ``current()``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from config import Settings
from worker.delivery.ledger import Ledger

if TYPE_CHECKING:
    from celery import Celery

    from worker.alerts.dispatch import Alerts
    from worker.clean.chrome import SourceChrome
    from worker.sinks import Sink
    from worker.stories.index import StoryIndex

CONF_KEY = "newsworker_settings"
"""Where in a Celery app's configuration the newsworker settings it was built from are."""


def settings_of(celery: Celery) -> Settings:
    """The newsworker settings this Celery app is configured from."""
    return celery.conf[CONF_KEY]


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @functools.cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.settings)

    @functools.cached_property
    def sinks(self) -> list[Sink]:
        from worker.sinks import build_sinks

        return build_sinks(self.settings)

    @functools.cached_property
    def alerts(self) -> Alerts:
        """The alert rules in force (reloaded when they change) and what a match does."""
        from worker.alerts.dispatch import Alerts

        return Alerts(self.settings, self.ledger.redis)

    @functools.cached_property
    def chrome(self) -> SourceChrome | None:
        """Chrome learned per source, in Redis; None unless ``NEWSWORKER_LEARN_CHROME``."""
        if not self.settings.learn_chrome:
            return None
        from worker.clean.chrome import SourceChrome

        return SourceChrome.in_redis(self.ledger.redis, self.ledger.keys.chrome)

    @functools.cached_property
    def stories(self) -> StoryIndex | None:
        """The grouping index shared by all workers; None unless ``NEWSWORKER_STORIES``."""
        if not self.settings.stories:
            return None
        from worker.stories import story_index

        return story_index(self.settings, self.ledger.redis)


_current: Runtime | None = None


def start(settings: Settings) -> Runtime:
    """The runtime of this process, from these settings (replacing an earlier one)."""
    global _current
    _current = Runtime(settings)
    return _current


def after_fork() -> None:
    """In a pool process: the parent's settings, this process's own connections."""
    if _current is not None:
        start(_current.settings)


def current() -> Runtime:
    if _current is None:
        raise RuntimeError(
            "no worker runtime: worker.delivery.runtime.start(settings) runs at worker init"
        )
    return _current
