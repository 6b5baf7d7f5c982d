"""The entities stage's one entry: :func:`extract`."""

from __future__ import annotations

import re

from worker.entities import mentions, records
from worker.entities.dates import dates
from worker.entities.merge import merge
from worker.entities.money import money
from worker.nlp import Nlp
from worker.schema import Entities
from worker.text import tokens


def extract(text: str, nlp: Nlp, *, published_at: str | None = None) -> Entities:
    """Find the entities, dates and sums of money in ``text``; offsets index into ``text``."""
    if not text.strip():
        return Entities()
    lead = re.search(r"\n\s*\n", text)  # the first paragraph ends at the first blank line
    lead_end = lead.start() if lead else len(text)
    groups = merge(text, mentions.find(text, tokens(text), nlp))
    most = max((len(group) for group in groups), default=1)
    found = [records.entity(text, lead_end, most, group) for group in groups]
    found.sort(key=lambda e: (-e.salience, e.mentions[0].start, e.normal))
    return Entities(
        entities=found,
        dates=dates(text, published_at, nlp),
        money=money(text, nlp),
    )
