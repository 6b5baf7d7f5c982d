"""The line classifier: each line of a page (from its text or its HTML) gets the features the
body search reads: prose, chrome, a section boundary, listed in a menu, a dated line, a link."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from worker.clean.chrome import line_hash
from worker.clean.normalize import WORD
from worker.clean.patterns import (
    CHROME_LINE,
    CHROME_WORDS,
    HEADLINE_END,
    LINE_DATE,
    MARKER,
)
from worker.text import ENDS_SENTENCE

# Tuned on the dev set (../shared/eval/clean); F1 moves by less than 0.01 across wide ranges.
BODY_WORDS = 8  # a prose line has at least this many words and ends like a sentence
_TEMPLATE_REPEATS = 3  # a line seen this often on one page is a template
_TEMPLATE_WORDS = 40  # unless it has this many words
_LIST_PROSE_SHARE = 0.5  # a block of 3+ lines with less prose than this is a menu or link list
HEADING_WINDOW = 8  # lines above the body where the title and subtitle are looked for
# HTML only
_LINKED = 0.5  # a line with this share of its characters in links is a link
_TEASER_LINKS = 0.2  # share of a block's text in its links when it lists teasers


@dataclass(slots=True)
class Line:
    text: str
    block: int
    words: int
    body: bool = False
    chrome: bool = False
    boundary: bool = False
    listed: bool = False
    meta: bool = False
    link: float = 0.0  # share of the line's characters in links (HTML only)
    # HTML only: the body containers the line is in, (element serial, rank) outermost first,
    # and the asides (menus, share buttons, related links, comments) it is in, by serial
    containers: tuple[tuple[int, int], ...] = ()
    asides: tuple[int, ...] = ()
    template: bool = False  # repeated on the page (see classify)
    teaser: bool = False  # in a block of teasers
    item: bool = False  # in a list item (HTML only)
    path: tuple[int, ...] = ()  # the serials of the block elements it is in (HTML only)

    @property
    def linked(self) -> bool:
        return self.link >= _LINKED

    @property
    def headline(self) -> bool:
        """Short, capitalised, not a sentence: a title, subtitle, menu entry or link."""
        return (
            2 <= self.words <= 30
            and not (self.body or self.chrome or self.meta)
            and (self.text[0].isupper() or self.text[0].isdigit() or self.text[0] in '«"“')
            and bool(HEADLINE_END.search(self.text))
            and not self.text.endswith("...")
        )


def text_lines(lines: list[str]) -> list[Line]:
    """Plain text's lines; a blank line separates blocks (each line is its own block when the
    text has no blank lines at all)."""
    has_blanks = "" in lines
    out: list[Line] = []
    block = 0
    for text in lines:
        if not text:
            block += 1
            continue
        out.append(Line(text, block, len(WORD.findall(text))))
        if not has_blanks:
            block += 1
    return out


def classify(out: list[Line], chrome: set[str] | None = None) -> list[Line]:
    """Set the lines' features; ``chrome``: hashes of the lines known to be the source's."""
    for line in out:
        text, words = line.text, line.words
        # section markers, buttons and legal lines end the article: they cost more
        low = text.lower()
        line.boundary = bool(MARKER.fullmatch(low) or CHROME_WORDS.search(low))
        # a line the source's other pages have too is chrome (it stays where it is: it still
        # separates what is above it from what is below)
        known = bool(chrome) and line_hash(text) in chrome
        line.chrome = known or line.boundary or bool(CHROME_LINE.fullmatch(low))
        line.meta = words <= 8 and bool(LINE_DATE.search(text))
        line.body = (
            words >= BODY_WORDS
            and not line.chrome
            and not line.linked
            and bool(ENDS_SENTENCE.search(text))
            and not text.endswith(("...", "…"))  # a teaser cut short
        )
        line.listed = line.linked
    # A line repeated three times or more is a template (comment widgets, teasers' buttons).
    # A long paragraph is not: a page that shows its article more than once repeats it whole.
    # A section marker repeated ("Advertisement") stays a marker.
    counts = Counter(line.text for line in out)
    for line in out:
        if counts[line.text] >= _TEMPLATE_REPEATS and line.words < _TEMPLATE_WORDS:
            line.template = not line.boundary
            line.chrome, line.boundary, line.body = True, True, False
    # A block of three or more lines, mostly not prose, is a menu or a list of links; a block of
    # teasers is not the article, prose or not.
    by_block: dict[int, list[Line]] = {}
    for line in out:
        by_block.setdefault(line.block, []).append(line)
    for members in by_block.values():
        if len(members) < 3:
            continue
        chars = sum(len(m.text) for m in members)
        prose = sum(len(m.text) for m in members if m.body)
        teasers = _teasers(members, chars)
        if teasers or prose < _LIST_PROSE_SHARE * chars:
            for m in members:
                m.listed = m.listed or teasers or not m.body
                m.teaser = teasers
                m.body = m.body and not teasers
    return out


def _teasers(members: list[Line], chars: int) -> bool:
    """Whether a block lists teasers: three links or more, which hold a good share of its text
    and head most of its prose lines (a headline, then the story's first sentences)."""
    if sum(m.linked for m in members) < 3:
        return False
    links = sum(m.link * len(m.text) for m in members)
    pairs = list(pairwise(members))
    headed = sum(above.linked for above, line in pairs if line.body)
    return links >= _TEASER_LINKS * chars and 2 * headed >= sum(line.body for _, line in pairs)


def around(lines: list[Line], span: tuple[int, int]) -> list[Line]:
    """The lines right above the body (its first one too) and right below it."""
    start, stop = span
    return [*lines[max(0, start - HEADING_WINDOW) : start + 1], *lines[stop : stop + 3]]
