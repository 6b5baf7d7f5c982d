"""HTML walking: the page parsed once (lxml) and read into one line per block element, hidden
elements left out, each line knowing its share of text in links and its block."""

from __future__ import annotations

import functools
import re
import unicodedata

from lxml import etree
from lxml.html import defs

from worker.clean.lines import Line
from worker.clean.normalize import INVISIBLE, WORD
from worker.errors import BadArticle

_BLOCK_TAGS = defs.block_tags | {"br", "title", "main", "section", "article", "header", "footer"}
_BLOCK_TAGS |= {"nav", "aside", "figure", "figcaption", "details", "summary"}


_PARSER = etree.HTMLParser(
    encoding="utf-8", remove_comments=True, remove_pis=True, collect_ids=False
)


def parse(html: str) -> etree._Element:
    """The page's tree (a fragment gets a document around it)."""
    try:
        tree = etree.fromstring(html.encode("utf-8", "replace"), parser=_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError):
        tree = None
    if tree is None:
        raise BadArticle("unparseable HTML")
    return tree


def element_text(el: etree._Element) -> str:
    return "".join(el.itertext())


_SKIP_TAGS = {"script", "style", "noscript", "template", "select", "option", "button", "textarea"}
_SKIP_TAGS |= {"iframe", "object", "svg", "head"}


_ITEM_TAGS = {"li", "dd", "dt"}
_CELL_TAGS = {"td", "th"}
_CELL_BLOCKS = _BLOCK_TAGS - {"p", "br"}
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def _hidden_style(el: etree._Element) -> bool:
    style = el.get("style")
    return bool(style and _HIDDEN.search(style))


def _misnested(el: etree._Element, tag: str) -> bool:
    """A button the parser made the parent of the page's paragraphs (an unclosed <button>)."""
    return tag == "button" and el.find(".//p") is not None


_HELD_CHARS = 2000  # a hidden element with this much text is content a script shows


def _held(el: etree._Element) -> bool:
    """Whether a hidden element holds the page's content (shown by a script): long text,
    mostly not in links."""
    chars = sum(len(t.strip()) for t in el.itertext())
    if chars < _HELD_CHARS:
        return False
    linked = sum(len(t.strip()) for a in el.iter("a") for t in a.itertext())
    return linked < 0.5 * chars


# Elements that hold the article's body (itemprop, a content class), an <article>, a <main>: the
# lower the rank, the more specific.
_BODY_CLASS = re.compile(
    r"articlebody|(?:article|post|entry|story|blog|content|main)[-_]{0,2}"
    r"(?:body|content|text|inner|copy|entry)(?![\w-])",
    re.IGNORECASE,
)
# Elements whose text is not the article's, wherever they stand: menus, insets, share buttons,
# related links, newsletters, comments.
_ASIDE_TAGS = {"nav", "aside", "footer", "form", "figcaption"}
_ASIDE_CLASS = re.compile(
    r"(?:^|[\s_-])(?:share|sharing|social|related|recommended|newsletter|subscribe|subscription"
    r"|comments?|sidebar|breadcrumbs?|promo|advert|advertisement|ads?|banner|popup|modal|cookie"
    r"|tags|navbar|menu|toc)(?=$|[\s_-])",
    re.IGNORECASE,
)


_TAG_RANK = {"article": 1, "main": 2}


def _roles(el: etree._Element, tag: str) -> tuple[int | None, bool]:
    """The element's rank as a body container (None: not one) and whether it is an aside."""
    attrib = el.attrib
    if not attrib:  # most blocks have no attributes: their tag says it all
        return _TAG_RANK.get(tag), tag in _ASIDE_TAGS
    get = attrib.get
    names = get("class") or ""
    ident = get("id")
    if ident:
        names = f"{names} {ident}"
    body, aside = _named(names) if names else (False, False)
    rank = 0 if body or get("itemprop") == "articleBody" else _TAG_RANK.get(tag)
    aside = aside or tag in _ASIDE_TAGS or get("role") in ("navigation", "complementary")
    return rank, aside


@functools.lru_cache(maxsize=4096)
def _named(names: str) -> tuple[bool, bool]:
    """Whether class and id names say a body container, an aside (a page repeats its names)."""
    return bool(_BODY_CLASS.search(names)), bool(_ASIDE_CLASS.search(names))


def _data_table(el: etree._Element) -> bool:
    """A table of data (rows of figures), not one that lays out the page: no table in it, some
    row with more than one cell, cells with no block in them but paragraphs."""
    rows = 0
    for sub in el.iterdescendants():
        tag = sub.tag
        if tag == "table":
            return False
        if tag == "tr":
            rows = max(rows, sum(c.tag in _CELL_TAGS for c in sub))
        elif tag in _CELL_TAGS and any(c.tag in _CELL_BLOCKS for c in sub):
            return False
    return rows > 1


class _Walker:
    """The page's visible text as lines: one per block element (or <br>), whitespace collapsed
    as a browser does, with the share of its characters in links and its block (the parent of
    its block element)."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.stack: list[int] = [0]
        self.serial = 0
        self.parts: list[str] = []
        self.link_chars = 0
        self.containers: list[tuple[int, int]] = []  # (serial, rank) of the open containers
        self.asides: list[int] = []  # serials of the open aside elements
        self.items = 0  # open list items

    def flush(self) -> None:
        if not self.parts:
            return
        text = "".join(self.parts)
        self.parts.clear()  # in place: the walk holds the list
        if text.isspace():
            self.link_chars = 0
            return
        text = " ".join(INVISIBLE.sub("", unicodedata.normalize("NFC", text)).split())
        if text:
            stack = self.stack
            line = Line(
                text,
                stack[-2] if len(stack) > 1 else 0,
                len(WORD.findall(text)),
                link=min(1.0, self.link_chars / len(text)),
                containers=tuple(self.containers),
                asides=tuple(self.asides),
                item=self.items > 0,
                path=tuple(stack),
            )
            self.lines.append(line)
        self.link_chars = 0

    def add(self, text: str | None, link: bool) -> None:
        if text:
            self.parts.append(text)
            if link:
                self.link_chars += len(text.strip())

    def walk(self, root: etree._Element) -> None:
        """Read the tree under ``root`` (lxml walks it; what is not shown is skipped whole)."""
        # per open element: (block, rank, aside, item, shown); the text of <a> counts as links
        opened: list[tuple[bool, int | None, bool, bool, bool]] = []
        links = 0
        parts = self.parts
        events = etree.iterwalk(root, events=("start", "end"))
        for event, el in events:
            tag = el.tag
            if event == "end":
                block, rank, aside, item, shown = opened.pop()
                if shown:
                    links -= tag == "a"
                    if block:
                        if parts:
                            self.flush()
                        self.stack.pop()
                        if rank is not None:
                            self.containers.pop()
                        if aside:
                            self.asides.pop()
                    self.items -= item
                tail = el.tail
                if tail and el is not root:
                    parts.append(tail)
                    if links:
                        self.link_chars += len(tail.strip())
                continue
            if (
                not isinstance(tag, str)
                or (tag == "a" and not len(el) and (el.text or "").strip().isdigit())  # a counter
                or (tag in _SKIP_TAGS and not _misnested(el, tag))
                or ((el.get("hidden") is not None or _hidden_style(el)) and not _held(el))
            ):
                events.skip_subtree()
                opened.append((False, None, False, False, False))
                continue
            if tag == "br":
                if parts:
                    self.flush()
                events.skip_subtree()
                opened.append((False, None, False, False, False))
                continue
            links += tag == "a"
            block = tag in _BLOCK_TAGS
            rank, aside = None, False
            if block:
                if parts:
                    self.flush()
                self.serial += 1
                self.stack.append(self.serial)
                rank, aside = _roles(el, tag)
                if rank is not None:
                    self.containers.append((self.serial, rank))
                if aside:
                    self.asides.append(self.serial)
            item = tag in _ITEM_TAGS or (tag == "table" and _data_table(el))
            self.items += item
            opened.append((block, rank, aside, item, True))
            text = el.text
            if text:
                parts.append(text)
                if links:
                    self.link_chars += len(text.strip())


def html_lines(tree: etree._Element) -> list[Line]:
    """The page's lines: its <title>, then its visible text (see :class:`_Walker`)."""
    walker = _Walker()
    title = tree.find(".//title")
    if title is not None and title.text:
        walker.add(title.text, False)
        walker.flush()
    body = tree.find(".//body")
    walker.walk(body if body is not None else tree)
    walker.flush()
    return walker.lines
