"""Extractive summary: whole sentences of the article, verbatim, in article order.

- ``units``: the article's sentences, datelines cut off, and which of them are prose (site
  chrome and datelines are never picked while prose is left);
- ``relevance``: each sentence's position, closeness to the article's centroid (mean navec
  vector) and the salience of the entities it names, weighted (:class:`Weights`);
- ``leaning``: sentences that lean on the one before them ("Тогда…", "При этом…", the tail of a
  quotation);
- ``selection``: greedy picks by maximal marginal relevance plus the share of the headline (title
  and subtitle, an editor's own summary) a pick newly covers; never a near-copy of a pick;
- ``stage``: :func:`summarize`, the stage's entry.

The navec embedding is passed in (``worker.nlp.Nlp.embedding``); nothing here loads it.
"""

from __future__ import annotations

from worker.summarize.relevance import Weights
from worker.summarize.stage import METHOD, summarize

__all__ = ["METHOD", "Weights", "summarize"]
