"""The body search: prose lines score, the rest costs; the article is the first high-scoring
stretch of lines, with its block's paragraphs on both sides of an inset."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from worker.clean.lines import BODY_WORDS, Line
from worker.clean.metadata import PageMeta
from worker.clean.normalize import text_key
from worker.clean.titles import headings

# Tuned on the dev set (../shared/eval/clean); F1 moves by less than 0.01 across wide ranges.
_COST_BOUNDARY, _COST_CHROME, _COST_LISTED, _COST_OTHER, _GAP_GROWTH = 50.0, 10.0, 3.0, 2.0, 1.0
_FIRST_SHARE = 0.5  # take the first stretch that scores at least this share of the best one
_COST_LINKED = 8.0
_INSET_LINES = 15  # an inset in the body's block (ad, related links) has at most so many lines
_CONTAINED_SHARE = 0.6  # a body container holds at least this share of the body's prose
_SPLIT_GROWTH = 2.0  # an outer container of the same kind with this many times its prose


@dataclass
class Parts:
    title: str | None
    subtitle: str | None
    paragraphs: list[str]
    author: str | None = None
    date: str | None = None
    span: tuple[int, int] = (0, 0)  # the lines [start, stop) the body was found in
    lines: list[str] = field(default_factory=list)  # all the page's lines
    meta: PageMeta = field(default_factory=PageMeta)  # what the page says of itself (HTML)


def _cost(line: Line) -> float:
    if line.boundary:
        return _COST_BOUNDARY
    if line.chrome:
        return _COST_CHROME
    if line.linked:
        return _COST_LINKED
    return _COST_LISTED if line.listed else _COST_OTHER


def _scores(lines: list[Line]) -> list[float]:
    """Prose lines score their word count; anything else costs, more the longer the gap."""
    scores: list[float] = []
    gap = 0
    for line in lines:
        if line.body:
            gap = 0
            scores.append(line.words)
        else:
            gap += 1
            scores.append(-max(_cost(line), line.words / 2) - _GAP_GROWTH * (gap - 1))
    return scores


def _segments(scores: list[float]) -> list[tuple[int, int, float]]:
    """Disjoint stretches (start, stop, sum) with a positive sum, in text order: the best one,
    then recursively the best ones left and right of it, found in one pass (Ruzzo & Tompa's
    all maximal scoring subsequences)."""
    # start, stop, sum before it, sum at its end, the last earlier one with a lower sum before
    found: list[tuple[int, int, float, float, int]] = []
    total = 0.0
    for i, score in enumerate(scores):
        if score > 0:
            start, low, high = i, total, total + score
            while True:
                j = len(found) - 1
                while j >= 0 and found[j][2] >= low:
                    j = found[j][4]
                if j < 0 or found[j][3] >= high:
                    found.append((start, i + 1, low, high, j))
                    break
                start, low = found[j][0], found[j][2]  # the new stretch extends an earlier one
                del found[j:]
        total += score
    return [(start, stop, high - low) for start, stop, low, high, _ in found]


def _same_block(lines: list[Line], start: int, stop: int) -> list[int]:
    """The stretch [start, stop) with the prose lines of its main block around it: the article's
    paragraphs can sit on both sides of an inset (an ad or related links) that breaks the
    stretch."""
    blocks = Counter(line.block for line in lines[start:stop] if line.body)
    if not blocks:
        return list(range(start, stop))
    main = blocks.most_common(1)[0][0]
    keep = list(range(start, stop))
    for step, edge in ((-1, start - 1), (1, stop)):
        i, skipped = edge, 0
        while 0 <= i < len(lines) and skipped <= _INSET_LINES:
            line = lines[i]
            if line.block == main:
                if not line.body:
                    break
                keep.append(i)
                skipped = 0
            else:
                skipped += 1
            i += step
    return sorted(keep)


def find_body(lines: list[Line], title: str | None, dom: bool = False) -> Parts:
    """Title, subtitle and paragraphs of the article in the classified ``lines``; ``dom``: the
    lines come from HTML, their blocks are elements."""
    segments = _segments(_scores(lines))
    if not segments:  # nothing reads like prose: keep what is not obviously chrome
        return Parts(title, None, [ln.text for ln in lines if not (ln.chrome or ln.listed)])
    # The article comes before comments, rules and teasers: the first stretch that scores at
    # least half the best one.
    if dom:  # prose in a form, a menu or an inset (a newsletter's pitch) is not the article's
        segments = _outside_asides(lines, segments)
    best = max(total for _, _, total in segments)
    start, stop, _ = next(s for s in segments if s[2] >= _FIRST_SHARE * best)
    keep = _same_block(lines, start, stop) if dom else list(range(start, stop))
    marked = _container(lines, keep) if dom else None
    container = marked if marked is not None or not dom else _common_block(lines, keep)
    if container is not None:
        prose = [lines[i] for i in keep if lines[i].body]
        if marked is None:  # a block found by its prose alone: its section markers end it
            _bound(lines, keep, container)
        contained = _contained(lines, container, prose)
        if contained:  # and the stretch's own paragraphs outside it (a lead above it)
            lead = [i for i in keep if i < contained[0] and lines[i].body]
            keep = [i for i in lead if not _inside(lines[i], container)] + contained
        else:
            container = None
    start = keep[0]

    title, subtitle = headings(lines, start, title, dom)
    seen = {text_key(t) for t in (title, subtitle) if t}
    body: list[tuple[str, str]] = []
    for line in (lines[i] for i in keep):
        if container is None and (line.chrome or line.listed or (line.meta and not line.body)):
            continue
        key = text_key(line.text)
        if key and key in seen and (container is None or line.words >= BODY_WORDS):
            continue
        seen.add(key)
        body.append((key, line.text))
    paragraphs = [
        text for i, (key, text) in enumerate(body) if not _repeated(key, body[i + 1 : i + 4])
    ]
    return Parts(title, subtitle, paragraphs, span=(start, keep[-1] + 1))


def _outside_asides(
    lines: list[Line], segments: list[tuple[int, int, float]]
) -> list[tuple[int, int, float]]:
    """The stretches' scores less the words of their prose lines in an aside; an "aside" that
    holds most of the page's prose is not one (a page-wide <form>, a class name misread)."""
    held: Counter[int] = Counter()
    for line in lines:
        if line.body:
            for aside in line.asides:
                held[aside] += line.words
    total = sum(line.words for line in lines if line.body)
    asides = {a for a, n in held.items() if n < _CONTAINED_SHARE * total}
    weighed = [
        (a, b, score - sum(ln.words for ln in lines[a:b] if ln.body and asides & set(ln.asides)))
        for a, b, score in segments
    ]
    return weighed if max(s[2] for s in weighed) > 0 else segments


def _container(lines: list[Line], keep: list[int]) -> int | None:
    """The element that holds the body found in ``keep``: the most specific body container
    (itemprop=articleBody or a content class, then <article>, then <main>) around most of its
    prose; None when there is none."""
    prose = [lines[i] for i in keep if lines[i].body]
    total = sum(line.words for line in prose)
    if not total:
        return None
    words: Counter[tuple[int, int]] = Counter()
    for line in prose:
        for container in line.containers:
            words[container] += line.words
    found = [c for c, n in words.items() if n >= _CONTAINED_SHARE * total]
    if not found:
        return None
    chosen = min(found, key=lambda c: (c[1], -c[0]))
    # the article split into several containers of one kind (a part between each two figures),
    # all in one more of that kind: the outer one, when it holds far more of the page's prose
    held: Counter[tuple[int, int]] = Counter()
    for line in lines:
        if line.body:
            for container in line.containers:
                held[container] += line.words
    outer = [c for c in held if c[1] == chosen[1] and c[0] < chosen[0]]
    for container in sorted(outer, key=lambda c: -c[0]):
        if held[container] >= _SPLIT_GROWTH * held[chosen]:
            return container[0]
    return chosen[0]


def _common_block(lines: list[Line], keep: list[int]) -> int | None:
    """Without a marked body container: the innermost element around the stretch's
    paragraphs that holds most of the page's prose (an article whose paragraphs are broken up by
    repeated labels, tables or widgets into several stretches); it becomes a container."""
    prose = [line for line in lines if line.body]
    total = sum(line.words for line in prose)
    first = next((lines[i] for i in keep if lines[i].body), None)
    if first is None or not total:
        return None
    words: Counter[int] = Counter()
    for line in prose:
        for serial in line.path:
            words[serial] += line.words
    stretch = [lines[i] for i in keep if lines[i].body]
    found = [  # around the stretch's every paragraph, not the first one's own element
        s
        for s in first.path[:-1]
        if s and words[s] >= _CONTAINED_SHARE * total and all(s in ln.path for ln in stretch)
    ]
    if not found:
        return None
    block = found[-1]
    for line in lines:
        if block in line.path:
            line.containers = (*line.containers, (block, 3))
    return block


def _bound(lines: list[Line], keep: list[int], block: int) -> None:
    """Take the lines of ``block`` before the last section marker above the stretch, and from
    the first one below it on, out of the block ("Комментарии", "Читайте также": what follows
    is not the article)."""
    start, stop = keep[0], keep[-1]
    above = [i for i in range(start) if lines[i].boundary and not lines[i].template]
    below = [i for i in range(stop + 1, len(lines)) if lines[i].boundary and not lines[i].template]
    first = above[-1] + 1 if above else 0
    last = below[0] if below else len(lines)
    for i, line in enumerate(lines):
        if (i < first or i >= last) and block in line.path:
            line.containers = tuple(c for c in line.containers if c[0] != block)


def _labels(line: Line, after: list[Line], links: set[int]) -> bool:
    """Whether ``line`` heads the block of links that comes right after it, in its block."""
    return bool(after) and after[0].block in links and line.block in after[0].path


def _inside(line: Line, container: int) -> bool:
    return any(serial == container for serial, _ in line.containers)


def _contained(lines: list[Line], container: int, prose: list[Line]) -> list[int]:
    """The lines of the container that are the article's: not in an aside within it (serials
    grow in document order, so an aside opened after the container is inside it), not links,
    section markers, credits or short dated lines. An "aside" around most of the body's prose
    is not one (a class name misread). Empty when that would lose some of the body's prose."""
    total = sum(line.words for line in prose)
    # the asides of the container's prose, not only of the stretch's (an "About us" box below)
    inner = [line for line in lines if line.body and _inside(line, container)]
    inner_total = sum(line.words for line in inner)
    held: Counter[int] = Counter()
    for line in inner:
        for aside in line.asides:
            held[aside] += line.words
    asides = {a for a, n in held.items() if a > container and n < _CONTAINED_SHARE * inner_total}
    members: Counter[int] = Counter(line.block for line in lines)
    linked: Counter[int] = Counter(line.block for line in lines if line.linked)
    links = {b for b in members if members[b] >= 3 and 2 * linked[b] >= members[b]}
    keep, words = [], 0
    for i, line in enumerate(lines):
        if not _inside(line, container):
            continue
        # a block of links (an ad box, "Related") goes, and its label with it
        if not line.body and (line.block in links or _labels(line, lines[i + 1 : i + 2], links)):
            continue
        if asides.intersection(line.asides) or line.linked or (line.meta and not line.body):
            continue
        if (line.chrome and not line.template) or line.teaser:
            continue
        keep.append(i)
        words += line.words if line.body else 0
    outside = sum(line.words for line in prose if asides.intersection(line.asides))
    if words < _CONTAINED_SHARE * (total - outside):
        return []
    # from its first paragraph to its last: headings, lists and short lines between them are the
    # article's, what stands before or after them in the container (forms, widgets) is not,
    # but for a list that ends the article
    first = next(n for n, i in enumerate(keep) if lines[i].body)
    # a lead without its full stop, right above the first paragraph
    while (
        first > 0
        and lines[keep[first - 1]].words >= BODY_WORDS
        and keep[first - 1] + 1 == keep[first]
    ):
        first -= 1
    stop = max(n for n, i in enumerate(keep) if lines[i].body) + 1
    # a list that ends the article (and its heading) is the article's too
    while stop < len(keep) and (
        lines[keep[stop]].item
        or (stop + 1 < len(keep) and lines[keep[stop + 1]].item and lines[keep[stop]].words < 12)
    ):
        stop += 1
    return keep[first:stop]


def _repeated(key: str, later: list[tuple[str, str]]) -> bool:
    """Whether a paragraph (its key) is a lead that one of the next ones repeats: it has it all,
    or begins it, in at least a sentence's worth of words."""
    if key.count(" ") < BODY_WORDS:
        return False
    return any(
        f" {key} " in f" {other} " or (key.startswith(other) and other.count(" ") >= BODY_WORDS)
        for other, _ in later
    )
