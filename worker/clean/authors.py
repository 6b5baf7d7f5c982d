"""The author: from the <meta> tags, else a name marked as the author next to the body."""

from __future__ import annotations

import re

from lxml import etree

from worker.clean.html import element_text
from worker.clean.lines import Line, around
from worker.clean.normalize import WORD, one_line
from worker.clean.patterns import is_chrome

_AUTHOR_KEYS = ("author", "article:author", "og:article:author", "byl", "dc.creator")
_DOMAIN = re.compile(r"://|\w\.[a-z]{2,}\b", re.IGNORECASE)  # a URL or a site, not a person
_BYLINE = re.compile(r"(?:автор\w*|текст|by)\s*:?\s*", re.IGNORECASE)
# "/author/jane-doe", "/authors/jane-doe/": a link to the author's page
_AUTHOR_PAGE = re.compile(r"/(?:author|authors|авторы?)/([^/?#]+)/?(?:$|[?#])", re.IGNORECASE)
_PERSON = re.compile(r"(?:[A-ZА-ЯЁ][\w’'-]*\.? ?){2,4}")  # two to four capitalised words


def _author(author: str | None) -> str | None:
    author = one_line(author)
    if not author or len(WORD.findall(author)) > 6 or _DOMAIN.search(author) or is_chrome(author):
        return None
    return author


def page_author(
    tree: etree._Element, meta: dict[str, str], lines: list[Line], span: tuple[int, int]
) -> str | None:
    """The author from the <meta> tags, else a person's name in an element marked as the author
    (itemprop, rel or class "author") written right above or below the body."""
    for key in _AUTHOR_KEYS:
        if author := _author(meta.get(key)):
            return author
    for key, value in meta.items():  # "sailthru.author", "parsely-author"
        if key.endswith("author") and (author := _author(value)) and _PERSON.fullmatch(author):
            return author
    near = {line.text for line in around(lines, span)}
    marked = '//*[@itemprop="author" or @rel="author" or contains(@class, "author")]'
    for el in tree.xpath(marked):
        text = one_line(el.get("content") or element_text(el)) or ""
        name = _BYLINE.sub("", text, count=1)
        if (text in near or el.get("content")) and _PERSON.fullmatch(name):
            return _author(name)
    for line in around(lines, span):  # "By Jane Doe" right above or below the body
        if (m := _BY.fullmatch(line.text)) and _PERSON.fullmatch(m[1]):
            return _author(m[1])
    for a in tree.iter("a"):  # the first link to an author's page that the link names
        page = _AUTHOR_PAGE.search(a.get("href") or "")
        name = _BYLINE.sub("", one_line(element_text(a)) or "", count=1)
        if page and _PERSON.fullmatch(name) and _named(page[1], name):
            return _author(name)
    return None


def _named(slug: str, name: str) -> bool:
    """Whether an author page's slug ("jane-doe-5324038", "jdoe") holds a word of ``name``."""
    return any(len(w) >= 3 and w in slug.casefold() for w in WORD.findall(name.casefold()))


_BY = re.compile(r"(?:by|автор|текст)\s*:?\s+(.+?)(?:\s*[|,•·]\s*.*)?", re.IGNORECASE)
