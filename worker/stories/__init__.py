"""Reprints and stories: the grouping step between summarize and deliver.

- ``signatures.py``  what is kept of an article: MinHash + LSH bands, lemmas, entities
- ``similarity.py``  reprint containment and story score, plain functions
- ``index.py``       the Redis index shared by all workers (every key documented there), Lua
- ``group.py``       a batch of articles: candidates → decisions → one atomic commit
"""

from __future__ import annotations

import redis

from config import Settings
from worker.stories.index import StoryIndex


def story_index(settings: Settings, client: redis.Redis) -> StoryIndex:
    """The index of these settings: keys under ``{NEWSWORKER_KEY_PREFIX}:grp``, their window."""
    from worker.delivery.ledger import Keys

    return StoryIndex(client, Keys(settings).grouping, settings.story_window)
