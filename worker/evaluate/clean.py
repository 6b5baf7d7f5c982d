"""Evaluate the clean stage on a JSONL of pages with hand-made reference texts.

The metric is the one ``../shared/README.md`` defines (after the Zyte article-extraction
benchmark): tokens are ``re.findall(r"\\w+", s)``, case-sensitive; per page, precision and
recall over the multiset of tokens ("bag") and of 4-token shingles ("sh4"); precision is the
mean over pages of the per-page precisions, recall likewise, and F1 the harmonic mean of those
two means. ``median_f1`` is the median of the per-page F1s (a few references are imperfect).
``pages_per_s`` counts the time spent in cleaning only (and, with ``replay``, in learning each
source's chrome), after :func:`~worker.clean.warm_up`.

Edge cases, per page:

- prediction empty (or the article raised :class:`~worker.errors.BadArticle`), gold not empty:
  precision 0 and recall 0 (an empty answer earns nothing);
- gold empty, prediction not empty: precision 0, recall 1 (nothing to find, all of it is noise);
- both empty: precision 1 and recall 1;
- a text with fewer than 4 tokens has a single shingle, all its tokens (as the Zyte
  benchmark does), so a short text can still match.

What is compared with ``gold_text`` is our title, subtitle and text joined by newlines: the
gold's first paragraph is the headline, and its next one the standfirst when the page has one,
which the plain-text cleaner returns as ``subtitle`` rather than in ``text``.

Run it as ``python -m worker.evaluate.clean [--input text] [--replay] [path]``.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from worker.clean import clean_page, warm_up
from worker.clean.chrome import SourceChrome, source_domain
from worker.errors import BadArticle
from worker.evaluate import counted
from worker.schema import RawArticle

_TOKEN = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """Word tokens, case-sensitive."""
    return _TOKEN.findall(text)


def shingles(tokens: list[str], n: int = 4) -> list[str]:
    """Overlapping n-token shingles; a non-empty text shorter than n is one shingle."""
    if not tokens:
        return []
    return [" ".join(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1))]


def precision_recall(gold: Iterable[str], pred: Iterable[str]) -> tuple[float, float]:
    """Precision and recall of the multiset ``pred`` against the multiset ``gold``."""
    g, p = Counter(gold), Counter(pred)
    n_gold, n_pred = sum(g.values()), sum(p.values())
    if not n_gold and not n_pred:
        return 1.0, 1.0
    if not n_pred:
        return 0.0, 0.0
    if not n_gold:
        return 0.0, 1.0
    overlap = sum((g & p).values())
    return overlap / n_pred, overlap / n_gold


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def page_scores(gold: str, pred: str) -> dict[str, tuple[float, float]]:
    """Per-page (precision, recall) for "bag" and "sh4"."""
    g, p = tokenize(gold), tokenize(pred)
    return {"bag": precision_recall(g, p), "sh4": precision_recall(shingles(g), shingles(p))}


def aggregate(scores: list[tuple[float, float]]) -> dict[str, float]:
    """Mean precision, mean recall, F1 of the two means and the median per-page F1."""
    if not scores:
        return {"precision": 0.0, "recall": 0.0, "f1": 0.0, "median_f1": 0.0}
    precision = statistics.fmean(s[0] for s in scores)
    recall = statistics.fmean(s[1] for s in scores)
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1(precision, recall), 4),
        "median_f1": round(statistics.median(f1(*s) for s in scores), 4),
    }


def predict(page: dict, input: str = "html", chrome: SourceChrome | None = None) -> str:
    """Our answer for one page: title, subtitle and text, or "" when the cleaner gives up.

    With ``chrome``, what it knows of the page's source is used, then learned from the page.
    """
    domain = source_domain(page.get("domain"), page.get("url"))
    known = chrome.known(domain) if chrome and domain else None
    try:
        if input == "html":
            raw = RawArticle(html=page["html"], url=page.get("url"))
        else:
            raw = RawArticle(text=page["page_text"])
        result, lines = clean_page(raw, chrome=known)
    except (BadArticle, ValueError):  # ValueError: pydantic rejects an empty page
        return ""
    if chrome and domain:
        chrome.learn(domain, lines, result.text.split("\n\n"))
    return "\n".join(part for part in (result.title, result.subtitle, result.text) if part)


def read_pages(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def evaluate(path: Path, input: str = "html", progress: bool = True, replay: bool = False) -> dict:
    """Run :func:`clean` on every page of ``path`` and score it against ``gold_text``.

    ``replay``: the pages come in file order as a stream would bring them, and each source's
    chrome is learned as they do (:class:`~worker.clean.chrome.SourceChrome`, in memory): what
    was learned from a source's earlier pages is used on its next ones.
    """
    if input not in ("html", "text"):
        raise ValueError(f"input must be 'html' or 'text', not {input!r}")
    pages = list(read_pages(Path(path)))
    warm_up()  # a worker pays the one-off loading once per process, not per page
    chrome = SourceChrome.in_memory() if replay else None
    per_page: dict[str, list[tuple[float, float]]] = {"bag": [], "sh4": []}
    empty = 0
    elapsed = 0.0
    for page in counted(pages, progress):
        start = time.perf_counter()
        pred = predict(page, input, chrome)
        elapsed += time.perf_counter() - start
        empty += not pred.strip()
        for kind, score in page_scores(page.get("gold_text") or "", pred).items():
            per_page[kind].append(score)
    return {
        "pages": len(pages),
        "input": input,
        "replay": replay,
        "bag": aggregate(per_page["bag"]),
        "sh4": aggregate(per_page["sh4"]),
        "pages_per_s": round(len(pages) / elapsed, 1) if elapsed else None,
        "empty_outputs": empty,
    }
