"""Titles: the headline among the lines above the body, or from the page's <title> and
og:title without the site's name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from lxml import etree

from worker.clean.dates import find_date
from worker.clean.html import element_text
from worker.clean.lines import HEADING_WINDOW, Line
from worker.clean.normalize import WORD, one_line, text_key
from worker.clean.patterns import is_chrome

_TITLE_SEPARATOR = re.compile(r"(\s+(?:[|/»«:]|//|::|-|–|—)\s+|:\s+(?=\S+$)|\s*:{2,}\s*)")
# Separators no headline uses: the parts they join are the headline and the site's labels
_STRONG_SEPARATOR = re.compile(r"\s*(?:\||//|:{2,})\s*|\s+/\s+")
_SITE_NAME = re.compile(r"[A-Za-z]|\.\w|новост|газет|агентств|журнал|портал|информ", re.IGNORECASE)


def _titled(key: str, title: str, words: int) -> bool:
    """Whether a line (its key) is the headline ``title``: the same, a part of it, or it with
    something glued after it (a counter, a rubric)."""
    return key == title or (words >= 3 and (key in title or key.startswith(title)))


def headings(
    lines: list[Line], start: int, title: str | None, dom: bool = False
) -> tuple[str | None, str | None]:
    """Title and subtitle: the headline-like lines in the few lines before the body.

    A scraped page usually starts with the HTML <title>, which repeats the headline: a candidate
    found in the first line (or that is the given ``title``) is the title, and the last one after
    it the subtitle. Without that hint, the last two candidates are the title and the subtitle.
    """
    candidates: list[Line] = []
    for line in reversed(lines[max(0, start - HEADING_WINDOW) : start]):
        if line.body or (line.linked if dom else line.listed):
            break
        if line.headline:
            candidates.insert(0, line)
    if title:
        hint, exact = text_key(title), True
    else:
        first = lines[0] if lines and not (lines[0].chrome or lines[0].listed) else None
        hint, exact = (text_key(first.text), False) if first else ("", False)
    if hint:
        for i, line in enumerate(candidates):
            key = text_key(line.text)
            if _titled(key, hint, line.words):
                rest = candidates[i + 1 :]
                return title or line.text, rest[-1].text if rest else None
        if not exact:  # further up
            for line in reversed(lines[1:start]):
                if line.headline and line.words >= 3 and text_key(line.text) in hint:
                    return line.text, None
    if title:
        return title, None
    if len(candidates) >= 2:
        return candidates[-2].text, candidates[-1].text
    if candidates:
        return candidates[-1].text, None
    if hint and lines[0].headline:
        return clean_title(lines[0].text), None
    return None, None


def _site_name(part: str) -> bool:
    return len(WORD.findall(part)) <= 4 and bool(_SITE_NAME.search(part) or part.isupper())


def clean_title(title: str | None) -> str | None:
    """Drop site names glued to a headline ("Headline | Rubric - Site.ru")."""
    title = one_line(title)
    if not title:
        return None
    parts = _TITLE_SEPARATOR.split(title)  # text, separator, text, ...
    while len(parts) > 2 and _site_name(parts[-1]):
        del parts[-2:]
    while len(parts) > 2 and _site_name(parts[0]):
        del parts[:2]
    if any(_STRONG_SEPARATOR.fullmatch(sep) for sep in parts[1::2]):
        # "Headline | Rubric", "Headline / Standfirst / Date": the first part is the headline
        pieces = [p for p in _STRONG_SEPARATOR.split("".join(parts)) if p.strip()]
        return pieces[0] if pieces else None
    return "".join(parts)


def html_title(
    tree: etree._Element, meta: dict[str, str], headline: str | None = None
) -> str | None:
    """The headline: an <h1> (else <h2>) that the <title>, og:title or JSON-LD ``headline``
    repeats and that holds a good part of it (a section's name is not the headline); else the
    JSON-LD headline, og:title or <title> without the site's name."""
    page_title = one_line(tree.findtext(".//title"))
    social = one_line(meta.get("og:title") or meta.get("twitter:title"))
    headline = one_line(headline)
    hints = [text_key(t) for t in (page_title, social, headline) if t]
    least = min(
        (len(WORD.findall(clean_title(t) or "")) for t in (page_title, social, headline) if t),
        default=0,
    )
    site = text_key(meta.get("og:site_name") or meta.get("application-name") or "")
    for tag in ("h1", "h2"):
        for candidate in _headings(tree, tag, site):
            key = text_key(candidate)
            if (
                any(key in hint for hint in hints)
                and len(WORD.findall(key)) >= _TITLE_SHARE * least
            ):
                return candidate
    if shown := _agreeing_h1(tree, site, [page_title, social, headline]):
        return shown
    if headline and len(WORD.findall(headline)) >= 2:
        return headline
    if (
        social
        and not is_chrome(social)
        and (len(WORD.findall(social)) >= 3 or _leads(page_title, social))
    ):
        return clean_title(social)
    title = clean_title(page_title)
    # "News - Section - Site": what is left is a section's name, a link in the site's menu; the
    # page's only <h1> is then the headline
    links = {text_key(element_text(a)) for a in tree.iter("a")}
    h1s = {t for el in tree.iter("h1") if (t := one_line(element_text(el)))}
    if title and text_key(title) in links and len(h1s) == 1:
        (h1,) = h1s
        if len(WORD.findall(h1)) >= 3 and not is_chrome(h1):
            return h1
    return title


_TITLE_SHARE = 0.5  # a headline shown on the page has at least this share of the title's words
_AGREEMENT = 0.4  # an <h1> worded apart from the title shares at least this share of its words


def _agreement(a: str, b: str) -> float:
    """The words two texts share, as a share of the longer one's (casefolded word sets)."""
    x, y = set(text_key(a).split()), set(text_key(b).split())
    return len(x & y) / max(len(x), len(y)) if x and y else 0.0


def _leads(title: str | None, part: str) -> bool:
    """Whether ``title`` is ``part`` and more after a separator ("Local Trails - Bike Lab")."""
    return bool(title and title.startswith(part) and _TITLE_SEPARATOR.match(title[len(part) :]))


def _headings(tree: etree._Element, tag: str, site: str) -> Iterator[str]:
    """The texts of the page's ``tag`` headings of two words or more that are not the site's
    logo: its name (og:site_name, ``site`` as a key) or a link to its home page."""
    for el in tree.iter(tag):
        text = one_line(element_text(el))
        if not text or len(WORD.findall(text)) < 2 or (site and text_key(text) == site):
            continue
        if any(_home(a) and text_key(element_text(a)) == text_key(text) for a in el.iter("a")):
            continue
        yield text


def _home(link: etree._Element) -> bool:
    """Whether a link goes to the site's home page (``rel="home"``, path ``/``)."""
    href = urlsplit(link.get("href") or "")
    return "home" in (link.get("rel") or "").split() or (href.path == "/" and not href.query)


def _agreeing_h1(tree: etree._Element, site: str, hints: list[str | None]) -> str | None:
    """The <h1> a reader sees as the headline when the <title>, og:title or JSON-LD headline
    word it otherwise (an SEO title, "Best X in 2025: Models, Range & Buying Guide" over "X:
    2025 Guide"): the one sharing most words with them (their site names dropped), if at
    least :data:`_AGREEMENT` of the longer's. The site's name in an <h1> shares too few."""
    cleaned = [t for hint in hints if (t := clean_title(hint))]
    best, score = None, _AGREEMENT
    for candidate in _headings(tree, "h1", site):
        if is_chrome(candidate) or candidate.isupper() or find_date(candidate):
            continue  # capitals by the site's style; "Headline Posted on July 1, 2024 by …"
        found = max((_agreement(candidate, hint) for hint in cleaned), default=0.0)
        if found >= score:
            best, score = candidate, found + 1e-9  # ties: the first
    return best
