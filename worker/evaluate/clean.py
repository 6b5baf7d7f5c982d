"""Evaluate the clean stage on a JSONL of pages with hand-made reference texts.

The metric is the one ``../shared/README.md`` defines (after the Zyte article-extraction
benchmark): tokens are ``re.findall(r"\\w+", s)``, case-sensitive; per page, precision and
recall over the multiset of tokens ("bag") and of 4-token shingles ("sh4"); precision is the
mean over pages of the per-page precisions, recall likewise, and F1 the harmonic mean of those
two means. ``median_f1`` is the median of the per-page F1s (a few references are imperfect).
``pages_per_s`` counts the CPU time this process spends in cleaning only (and, with ``replay``,
in learning each source's chrome), after :func:`~worker.clean.warm_up`: pages per second of one
core, whatever else the machine runs.

With ``anchors`` (the ``eval`` extra), trafilatura (default settings, ``extract(html, url=…)``)
and readability-lxml (``Document(html).summary()`` as text, a line break after each block) run
on the same pages in the same process, timed and scored the same way. ``metadata`` compares,
where the file has gold (``gold_meta``; DAnIEL: ``gold_title`` and the crawl's ``date``), the
title (exact up to whitespace and typography: curly quotes, "？", "…"), the published date (its
day; its minute where gold has a time) and the authors (the same names, any order); each is the
share of the pages whose gold has it. trafilatura's metadata comes from its
``extract_metadata`` (not timed); readability gives a title only.

Edge cases, per page:

- prediction empty (or the article raised :class:`~worker.errors.BadArticle`), gold not empty:
  precision 0 and recall 0 (an empty answer earns nothing);
- gold empty, prediction not empty: precision 0, recall 1 (nothing to find, all of it is noise);
- both empty: precision 1 and recall 1;
- a text with fewer than 4 tokens has a single shingle, all its tokens (as the Zyte
  benchmark does), so a short text can still match.

What is compared with ``gold_text`` is our title, subtitle and text joined by newlines: the
gold's first paragraph is the headline, and its next one the standfirst when the page has one,
which the plain-text cleaner returns as ``subtitle`` rather than in ``text``. Where the file says
the gold has no headline (``gold_has_title`` false: most of the modern set, whose headline is in
``gold_title``), our title is left out, as the anchors give none.

Run it as ``python -m worker.evaluate.clean [--input text] [--replay] [path]``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import lxml.html
import lxml.html.defs

from worker.clean import clean_page, warm_up
from worker.clean.chrome import SourceChrome, source_domain
from worker.errors import BadArticle
from worker.evaluate import counted
from worker.schema import Clean, RawArticle
from worker.text import load_language_model

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
    result = _clean(page, input, chrome)
    return _joined(result, page.get("gold_has_title", True)) if result else ""


def _clean(page: dict, input: str, chrome: SourceChrome | None) -> Clean | None:
    domain = source_domain(page.get("domain"), page.get("url"))
    known = chrome.known(domain) if chrome and domain else None
    try:
        if input == "html":
            raw = RawArticle(html=page["html"], url=page.get("url"))
        else:
            raw = RawArticle(text=page["page_text"])
        result, lines = clean_page(raw, chrome=known, languages=load_language_model())
    except (BadArticle, ValueError):  # ValueError: pydantic rejects an empty page
        return None
    if chrome and domain:
        chrome.learn(domain, lines, result.text.split("\n\n"))
    return result


def _joined(result: Clean, titled: bool = True) -> str:
    """What is compared with the gold: the title (where the gold has the headline: always on
    DAnIEL, where ``gold_has_title`` says so on the modern set), subtitle and text."""
    title = result.title if titled else None
    return "\n".join(part for part in (title, result.subtitle, result.text) if part)


def read_pages(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


# --- metadata ------------------------------------------------------------------------------------


_FIELDS = ("title", "date", "author")


@dataclass
class Meta:
    """What an extractor says of a page, as the metadata metrics compare it."""

    title: str | None = None
    published: str | None = None  # ISO 8601: a date, or a date and time
    authors: list[str] = field(default_factory=list)


def gold_meta(page: dict) -> Meta:
    """The page's reference metadata: ``gold_meta`` (modern set), else ``gold_title`` and the
    ``date`` field (YYYYMMDD, the DAnIEL set)."""
    gold = page.get("gold_meta")
    if gold is not None:
        author = gold.get("author")
        return Meta(gold.get("title"), gold.get("published"), [author] if author else [])
    date = page.get("date") or ""
    published = f"{date[:4]}-{date[4:6]}-{date[6:8]}" if re.fullmatch(r"\d{8}", date) else None
    return Meta(page.get("gold_title"), published)


_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def _squash(text: str | None) -> str:
    """A title as compared: whitespace normalised, typography folded (NFKC: "？" as "?", "…" as
    "..."; curly quotes as straight ones), as a gold typed on a keyboard has them."""
    return " ".join(unicodedata.normalize("NFKC", text or "").translate(_QUOTES).split())


def _instant(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def date_right(gold: str, ours: str | None) -> tuple[bool, bool | None]:
    """Whether ``ours`` is ``gold``'s day, and (None when gold has no time) its minute.

    The day is the one written in the page's own time zone (the date part of the ISO value);
    the minute compares instants when both carry a time zone."""
    day = bool(ours) and ours[:10] == gold[:10]
    if len(gold) <= 10:
        return day, None
    g, o = _instant(gold), _instant(ours or "")
    if g is None or o is None or len(ours or "") <= 10:
        return day, False
    if (g.tzinfo is None) != (o.tzinfo is None):
        g, o = g.replace(tzinfo=None), o.replace(tzinfo=None)
    return day, abs((g - o).total_seconds()) < 60


_NAME = re.compile(r"[^\W\d_]+")
_JOINERS = {"and", "by", "и", "with"}


def authors_match(gold: list[str], ours: list[str]) -> bool:
    """Whether ``ours`` names the same people as ``gold``: the same words (casefolded, "and" and
    "by" aside), in any order and split into any list."""

    def words(names: list[str]) -> set[str]:
        return {w for n in names for w in _NAME.findall(n.casefold())} - _JOINERS

    return words(gold) == words(ours)


def meta_scores(
    pages: list[dict],
    found: list[Meta | None],
    fields: tuple[str, ...] = _FIELDS,
) -> dict[str, object]:
    """Title exact (whitespace normalised), date right to the day and (where gold has a time)
    to the minute, authors matched: each the share of the pages whose gold has it."""
    counts: Counter[str] = Counter()
    for page, ours in zip(pages, found):
        gold, ours = gold_meta(page), ours or Meta()
        if gold.title:
            counts["title_pages"] += 1
            counts["title"] += _squash(gold.title) == _squash(ours.title)
        if gold.published:
            counts["date_pages"] += 1
            day, minute = date_right(gold.published, ours.published)
            counts["date_day"] += day
            if minute is not None:
                counts["time_pages"] += 1
                counts["date_minute"] += minute
        if gold.authors:
            counts["author_pages"] += 1
            counts["author"] += authors_match(gold.authors, ours.authors)

    def share(hits: str, total: str) -> dict[str, object]:
        n = counts[total]
        return {"right": round(counts[hits] / n, 4) if n else None, "pages": n}

    out = {
        "title_exact": share("title", "title_pages"),
        "published_day": share("date_day", "date_pages"),
        "published_minute": share("date_minute", "time_pages"),
        "author": share("author", "author_pages"),
    }
    wanted = {"title": ("title_exact",), "date": ("published_day", "published_minute")}
    wanted["author"] = ("author",)
    return {k: v for f in fields for k in wanted[f] if (v := out[k])["pages"]}


# --- the anchors ---------------------------------------------------------------------------------


def _anchor_libraries() -> tuple[Any, Any]:
    try:
        import trafilatura
        from readability import Document
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise click.ClickException(
            f"the anchors need the eval extra ({exc.name} is missing): "
            "pip install -e '.[eval]', or pass --no-anchors"
        ) from None
    return trafilatura, Document


def _html_text(html: str) -> str:
    """The text of an HTML fragment, a line break after each block element."""
    if not html.strip():
        return ""
    tree = lxml.html.fragment_fromstring(html, create_parent="div")
    for el in tree.iter():
        if isinstance(el.tag, str) and el.tag in _BLOCKS:
            el.tail = "\n" + (el.tail or "")
    return tree.text_content()


_BLOCKS = lxml.html.defs.block_tags | {"br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4"}


def _trafilatura(page: dict) -> tuple[str, Meta]:
    trafilatura, _ = _anchor_libraries()
    text = trafilatura.extract(page["html"], url=page.get("url")) or ""
    return text, Meta()


def _trafilatura_meta(page: dict) -> Meta:
    trafilatura, _ = _anchor_libraries()
    found = trafilatura.extract_metadata(page["html"], default_url=page.get("url"))
    if found is None:
        return Meta()
    author = found.author
    return Meta(found.title, found.date, [a.strip() for a in author.split(";")] if author else [])


def _readability(page: dict) -> tuple[str, Meta]:
    _, Document = _anchor_libraries()
    try:
        doc = Document(page["html"])
        return _html_text(doc.summary(html_partial=True)), Meta(doc.title())
    except Exception:  # readability raises bare exceptions on odd pages: an empty answer
        return "", Meta()


_ANCHORS: dict[str, Callable[[dict], tuple[str, Meta]]] = {
    "trafilatura": _trafilatura,
    "readability-lxml": _readability,
}


def _score(
    pages: list[dict],
    texts: list[str],
    elapsed: float,
    metas: list[Meta | None],
    fields: tuple[str, ...] = _FIELDS,
) -> dict[str, object]:
    per_page: dict[str, list[tuple[float, float]]] = {"bag": [], "sh4": []}
    for page, text in zip(pages, texts):
        for kind, score in page_scores(page.get("gold_text") or "", text).items():
            per_page[kind].append(score)
    return {
        "bag": aggregate(per_page["bag"]),
        "sh4": aggregate(per_page["sh4"]),
        "pages_per_s": round(len(pages) / elapsed, 1) if elapsed else None,
        "empty_outputs": sum(not t.strip() for t in texts),
        "metadata": meta_scores(pages, metas, fields),
    }


def evaluate(
    path: Path,
    input: str = "html",
    progress: bool = True,
    replay: bool = False,
    anchors: bool = False,
) -> dict:
    """Run :func:`clean` on every page of ``path`` and score it against ``gold_text``.

    ``replay``: the pages come in file order as a stream would bring them, and each source's
    chrome is learned as they do (:class:`~worker.clean.chrome.SourceChrome`, in memory): what
    was learned from a source's earlier pages is used on its next ones.

    ``anchors`` (HTML only): trafilatura (default settings) and readability-lxml run on the same
    pages in the same process, scored the same way, under ``"anchors"``.
    """
    if input not in ("html", "text"):
        raise ValueError(f"input must be 'html' or 'text', not {input!r}")
    pages = list(read_pages(Path(path)))
    warm_up()  # a worker pays the one-off loading once per process, not per page
    load_language_model()
    chrome = SourceChrome.in_memory() if replay else None
    texts: list[str] = []
    metas: list[Meta | None] = []
    elapsed = 0.0
    for page in counted(pages, progress):
        start = time.process_time()
        result = _clean(page, input, chrome)
        elapsed += time.process_time() - start
        texts.append(_joined(result, page.get("gold_has_title", True)) if result else "")
        metas.append(Meta(result.title, result.published_at, result.authors) if result else None)
    out: dict[str, Any] = {"pages": len(pages), "input": input, "replay": replay}
    out.update(_score(pages, texts, elapsed, metas))
    if anchors and input == "html":
        out["anchors"] = {}
        for name, run in _ANCHORS.items():
            run(pages[0])  # warm up, as ours
            found, elapsed = [], 0.0
            for page in counted(pages, progress):
                start = time.process_time()
                found.append(run(page))
                elapsed += time.process_time() - start
            names = [meta for _, meta in found]
            if name == "trafilatura":  # its metadata comes from a call of its own (not timed)
                names = [_trafilatura_meta(page) for page in pages]
            fields = _FIELDS if name == "trafilatura" else ("title",)
            out["anchors"][name] = _score(pages, [t for t, _ in found], elapsed, names, fields)
    return out
