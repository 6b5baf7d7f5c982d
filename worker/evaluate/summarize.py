"""Evaluate the summariser against human references (``../shared/eval/summarize/*.jsonl``).

Each line holds ``text`` (plain text, or an HTML fragment as in the RIA file) and a reference:
``summary`` (budget 3 sentences by default) or else ``title`` (budget 1 sentence). The title is
given to the summariser, as the pipeline does, only when it is not the reference. The metric is
the Gazeta dataset's protocol: both sides tokenised with razdel, joined by spaces, lowercased;
ROUGE-1/2/L F1 from the ``rouge`` package (0.3.2), averaged over articles and shown in percent.
Our summaries are shown beside Lead-N, the article's first N sentences, and beside ``VARIANTS``:
the summariser with fewer of its clues (the headline clue counts only where a title is given).
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import lxml.html
from razdel import tokenize
from rouge import Rouge

from worker.clean import clean
from worker.entities import extract
from worker.errors import BadArticle
from worker.evaluate import counted
from worker.nlp import load_nlp
from worker.schema import RawArticle
from worker.summarize import Weights, summarize
from worker.text import sentences as split_sentences

METRICS = ("rouge-1", "rouge-2", "rouge-l")
HTML_TAG = re.compile(r"<(?:p|div|br|strong|span|a|b|i)\b[^>]*>", re.IGNORECASE)
# The clues of the default weights (ours) added one by one to a ranking by position alone.
VARIANTS = {
    "position": Weights(centroid=0, entities=0, headline=0),
    "+centroid": Weights(entities=0, headline=0),
    "+entities": Weights(headline=0),
}


def plain_text(text: str) -> str:
    """The article as plain text: cleaned by the clean stage if it is HTML (lxml if that fails)."""
    if not HTML_TAG.search(text):
        return text.strip()
    try:
        return clean(RawArticle(html=text)).text
    except (BadArticle, ValueError):
        tree = lxml.html.fromstring(text)
        paragraphs = [p.text_content().strip() for p in tree.iter("p")]
        return "\n\n".join(p for p in paragraphs if p) or tree.text_content().strip()


def prepare(text: str) -> str:
    """The Gazeta protocol: razdel tokens joined by spaces, lowercased."""
    return " ".join(tok.text for tok in tokenize(text)).lower()


def rouge_f1(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """Mean ROUGE F1 (percent) over (hypothesis, reference) pairs; an empty side scores 0.

    The same mean as ``Rouge().get_scores(hyps, refs, avg=True)``, which refuses empty texts.
    """
    rouge = Rouge()
    totals = dict.fromkeys(METRICS, 0.0)
    for hyp, ref in pairs:
        hyp, ref = prepare(hyp), prepare(ref)
        if not (hyp and ref):
            continue
        scores = rouge.get_scores(hyp, ref)[0]
        for metric in METRICS:
            totals[metric] += scores[metric]["f"]
    return {m: round(100 * total / len(pairs), 1) if pairs else 0.0 for m, total in totals.items()}


def lead(text: str, n: int) -> str:
    return " ".join(sent.text for sent in split_sentences(text)[:n])


def read_articles(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def evaluate(path: Path, progress: bool = True, sentences: int | None = None) -> dict:
    """Summarise every article of ``path``; score ours, Lead-N and the variants against the
    references."""
    articles = list(read_articles(Path(path)))
    field = "summary" if articles and all(a.get("summary") for a in articles) else "title"
    n = sentences or (3 if field == "summary" else 1)
    nlp = load_nlp()
    ours, leads, seconds = [], [], []
    variants: dict[str, list[tuple[str, str]]] = {name: [] for name in VARIANTS}
    for article in counted(articles, progress):
        text = plain_text(article["text"])
        found = extract(text, nlp)
        title = article.get("title") if field != "title" else None
        start = time.perf_counter()
        summary = summarize(text, found, embedding=nlp.embedding, title=title, sentences=n)
        seconds.append(time.perf_counter() - start)
        ours.append((summary.text, article[field]))
        leads.append((lead(text, n), article[field]))
        for name, weights in VARIANTS.items():
            variant = summarize(
                text, found, embedding=nlp.embedding, title=title, sentences=n, weights=weights
            )
            variants[name].append((variant.text, article[field]))
    return {
        "articles": len(articles),
        "reference": field,
        "budget": f"{n} sentence{'s' * (n != 1)}",
        "ours": rouge_f1(ours),
        "lead": rouge_f1(leads),
        "variants": {name: rouge_f1(pairs) for name, pairs in variants.items()},
        "summarize_ms": round(1000 * statistics.fmean(seconds), 1) if seconds else None,
    }
