"""The clean stage: from a submitted page or scraped text to the article's main text.

Both inputs become a sequence of lines that one classifier reads (:func:`_classify`,
:func:`_body`): prose lines score their length, everything else costs (section markers such as
"Читайте также" and legal footers most), and the body is the first high-scoring stretch; the
title and subtitle are the headline-like lines right above it.

- Plain text, as scrapers deliver it with the site's chrome (menus, link lists, counters,
  comment widgets, footers), is split at its line breaks; a blank line separates blocks
  (:func:`clean_text`).
- HTML is parsed once (lxml) and walked into one line per block element (:class:`_Walker`),
  hidden elements left out; each line knows the share of its text in links and its block (the
  parent element), which the text does not say: link lists and teaser feeds are recognised as
  such, and the body's paragraphs are gathered on both sides of an inset that interrupts them.
  Title, author and date come from the page's metadata, else from the lines around the body
  (:func:`clean_html`).
- Lines known to be the source's chrome (learned across its recent articles by
  :class:`worker.boilerplate.SourceChrome`) are chrome whatever they look like.

Everything ends in the same normalisation (:func:`normalize`) and language guess
(:func:`detect_language`). No Celery, no Redis: plain functions.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

from lxml import etree
from lxml.html import defs

from worker.boilerplate import line_hash
from worker.errors import BadArticle
from worker.schema import Clean, CutLine, RawArticle

# --- normalisation ---------------------------------------------------------------------------

# soft hyphen, zero-widths, control characters
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff\x00-\x08\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[^\S\n]+")  # any whitespace but the newline, nbsp included


def normalize(text: str) -> str:
    """NFC, no soft hyphens, zero-width or control characters, single spaces, stripped lines,
    paragraphs separated by exactly one blank line, no leading or trailing whitespace."""
    return "\n".join(_lines(text))


def _one_line(text: str | None) -> str | None:
    """``text`` normalised onto one line; None when nothing is left."""
    joined = " ".join(line for line in _lines(text or "") if line)
    return joined or None


def _lines(text: str) -> list[str]:
    """The normalised non-empty lines of ``text``; a blank line becomes ``""`` (runs collapsed)."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    out: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _SPACES.sub(" ", line).strip()
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


# --- language ----------------------------------------------------------------------------------

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_UKRAINIAN = re.compile(r"[іїєґІЇЄҐ]")
_RUSSIAN = re.compile(r"[ыэъёЫЭЪЁ]")


def detect_language(text: str, sample: int = 20_000) -> str:
    """'ru', 'uk', 'en' or 'und' from the letters of (the start of) ``text``."""
    text = text[:sample]
    cyrillic, latin = len(_CYRILLIC.findall(text)), len(_LATIN.findall(text))
    if cyrillic + latin < 20:
        return "und"
    if cyrillic >= 0.6 * (cyrillic + latin):
        uk = len(_UKRAINIAN.findall(text))
        return "uk" if uk > len(_RUSSIAN.findall(text)) else "ru"
    if latin >= 0.6 * (cyrillic + latin):
        return "en"
    return "und"


# --- plain text --------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
_TERMINAL = re.compile(r"[.!?…][»\"”’)\]]*$")
_HEADLINE_END = re.compile(r"[^.,;:]$")
_MONTHS = "январ|феврал|март|апрел|ма[яй]|июн|июл|август|сентябр|октябр|ноябр|декабр"
_DATE = re.compile(
    rf"\b\d{{1,2}}:\d{{2}}\b|\b\d{{1,2}}[./]\d{{1,2}}[./]\d{{2,4}}\b"
    rf"|\b\d{{1,2}} (?:{_MONTHS})\w*|\b(?:сегодня|вчера)\b",
    re.IGNORECASE,
)
_SOCIAL = r"telegram|телеграм\w*|vk|вконтакте|facebook|twitter|youtube|дзен\w*|одноклассник\w*"
# Section markers and buttons: what follows them is rarely the article any more.
_SECTION = (
    r"(?:(?:все|последние|другие|главные|похожие|горячие|свежие|популярные|интересные"
    r"|самые \w+|читаемые|обсуждаемые) )?(?:новости|статьи|материалы|публикации)"
)
_MARKER = re.compile(
    r"[\W_]*(?:(?:читайте|читай|читать|смотрите|см\.)(?: так ?же| ещё| еще| далее| полностью)?"
    rf"|(?:читайте )?{_SECTION}(?: и материалы| по теме)?|(?:ссылки|больше|ещё|еще|также) по теме"
    r"|по теме|лента новостей|читают сейчас|подпис\w+(?: на (?:рассылку|новости))?"
    r"|(?:новые |последние |все )?коммент\w*(?: к (?:статье|новости|материалу))?"
    r"|(?:добавить|оставить|написать) комментарий|обсуждение(?: материала| статьи| новости)?"
    r"|поделиться(?: новостью| ссылкой| с друзьями)?|распечатать|версия для (?:печати|pda)|печать"
    r"|(?:отправить|выслать|переслать)(?: по почте| ссылку| другу| в)?"
    r"|сообщить об (?:ошибке|опечатке)"
    r"|(?:предыдущая|следующая) (?:новость|статья)|(?:вернуться |перейти )?на главную(?: страницу)?"
    r"|tweet|твитнуть|нравится|рекомендовать|(?:вставить )?в блог|реклама|загрузка\.*|ответить"
    r"|наверх|главная|назад|вперед|вперёд|далее|подробнее|теги|метки|темы|рубрики)"
    r"(?: (?:на сайте|раздела|рубрики|агентства|партн[её]ров|дня|часа|недели))?[\W_]*(?:\d+[\W_]*)?"
    rf"|.{{0,60}}\b(?:в|во|на|мы в) (?:{_SOCIAL})\W*"
    r"|(?:подписывайтесь|подпишитесь|присоединяйтесь)\b.*",
    re.IGNORECASE,
)
# Other lines that are chrome as a whole: inline links, tags, counters, credits.
_CHROME_LINE = re.compile(
    r"(?:читайте|читай|смотрите) (?:так ?же|ещё|еще)\b.*"
    r"|(?:теги|метки|tags|просмотров|комментариев|рейтинг|источник|фото|видео|автор)\s*:.{0,200}"
    r"|(?:фото|photo)\b.{0,80}",
    re.IGNORECASE,
)
# Lines with these anywhere are chrome: legal footers, comment rules, the site about itself.
_CHROME_WORDS = re.compile(
    r"©|\(c\)|все права защищены|(?:ссылка|гиперссылка) (?:на .{0,60})?обязательна"
    r"|при (?:использовании|цитировании|перепечатке|копировании) (?:материал|информац)"
    r"|свидетельство о регистрации|javascript|cookie|(?:на|с) (?:нашем|нашего|этом|этого) сайт"
    r"|администраци\w* сайта|правила\w* коммент|(?:ваш|свой) (?:комментарий|отзыв)"
    r"|зарегистр\w+ пользовател",
    re.IGNORECASE,
)


def _chrome(line: str) -> bool:
    return bool(
        _MARKER.fullmatch(line) or _CHROME_LINE.fullmatch(line) or _CHROME_WORDS.search(line)
    )


# Tuned on the dev set (../shared/eval/clean); F1 moves by less than 0.01 across wide ranges.
_BODY_WORDS = 8  # a prose line has at least this many words and ends like a sentence
_TEMPLATE_REPEATS = 3  # a line seen this often on one page is a template
_LIST_PROSE_SHARE = 0.5  # a block of 3+ lines with less prose than this is a menu or link list
_COST_BOUNDARY, _COST_CHROME, _COST_LISTED, _COST_OTHER, _GAP_GROWTH = 50.0, 10.0, 3.0, 2.0, 1.0
_FIRST_SHARE = 0.5  # take the first stretch that scores at least this share of the best one
_HEADING_WINDOW = 8  # lines above the body where the title and subtitle are looked for
# HTML only
_LINKED = 0.5  # a line with this share of its characters in links is a link
_COST_LINKED = 8.0
_TEASER_LINKS = 0.2  # share of a block's text in its links when it lists teasers
_INSET_LINES = 15  # an inset in the body's block (ad, related links) has at most so many lines


@dataclass
class _Parts:
    title: str | None
    subtitle: str | None
    paragraphs: list[str]
    author: str | None = None
    date: str | None = None
    span: tuple[int, int] = (0, 0)  # the lines [start, stop) the body was found in
    lines: list[str] = field(default_factory=list)  # all the page's lines


@dataclass
class _Line:
    text: str
    block: int
    words: int
    body: bool = False
    chrome: bool = False
    boundary: bool = False
    listed: bool = False
    meta: bool = False
    link: float = 0.0  # share of the line's characters in links (HTML only)

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
            and bool(_HEADLINE_END.search(self.text))
            and not self.text.endswith("...")
        )


def _text_lines(lines: list[str]) -> list[_Line]:
    """Plain text's lines; a blank line separates blocks (each line is its own block when the
    text has no blank lines at all)."""
    has_blanks = "" in lines
    out: list[_Line] = []
    block = 0
    for text in lines:
        if not text:
            block += 1
            continue
        out.append(_Line(text, block, len(_WORD.findall(text))))
        if not has_blanks:
            block += 1
    return out


def _classify(out: list[_Line], chrome: set[str] | None = None) -> list[_Line]:
    """Set the lines' features; ``chrome``: hashes of the lines known to be the source's."""
    for line in out:
        text, words = line.text, line.words
        # section markers, buttons and legal lines end the article: they cost more
        line.boundary = bool(_MARKER.fullmatch(text) or _CHROME_WORDS.search(text))
        # a line the source's other pages have too is chrome (it stays where it is: it still
        # separates what is above it from what is below)
        known = bool(chrome) and line_hash(text) in chrome
        line.chrome = known or line.boundary or bool(_CHROME_LINE.fullmatch(text))
        line.meta = words <= 8 and bool(_DATE.search(text))
        line.body = (
            words >= _BODY_WORDS
            and not line.chrome
            and not line.linked
            and bool(_TERMINAL.search(text))
            and not text.endswith(("...", "…"))  # a teaser cut short
        )
        line.listed = line.linked
    # A line repeated three times or more is a template (comment widgets, teasers' buttons).
    counts = Counter(line.text for line in out)
    for line in out:
        if counts[line.text] >= _TEMPLATE_REPEATS:
            line.chrome, line.boundary, line.body = True, True, False
    # A block of three or more lines, mostly not prose, is a menu or a list of links; a block of
    # teasers is not the article, prose or not.
    by_block: dict[int, list[_Line]] = {}
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
                m.body = m.body and not teasers
    return out


def _teasers(members: list[_Line], chars: int) -> bool:
    """Whether a block lists teasers: three links or more, which hold a good share of its text
    and head most of its prose lines (a headline, then the story's first sentences)."""
    if sum(m.linked for m in members) < 3:
        return False
    links = sum(m.link * len(m.text) for m in members)
    pairs = list(pairwise(members))
    headed = sum(above.linked for above, line in pairs if line.body)
    return links >= _TEASER_LINKS * chars and 2 * headed >= sum(line.body for _, line in pairs)


def _cost(line: _Line) -> float:
    if line.boundary:
        return _COST_BOUNDARY
    if line.chrome:
        return _COST_CHROME
    if line.linked:
        return _COST_LINKED
    return _COST_LISTED if line.listed else _COST_OTHER


def _scores(lines: list[_Line]) -> list[float]:
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


def _key(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def _titled(key: str, title: str, words: int) -> bool:
    """Whether a line (its key) is the headline ``title``: the same, a part of it, or it with
    something glued after it (a counter, a rubric)."""
    return key == title or (words >= 3 and (key in title or key.startswith(title)))


def _headings(
    lines: list[_Line], start: int, title: str | None, dom: bool = False
) -> tuple[str | None, str | None]:
    """Title and subtitle: the headline-like lines in the few lines before the body.

    A scraped page usually starts with the HTML <title>, which repeats the headline: a candidate
    found in the first line (or that is the given ``title``) is the title, and the last one after
    it the subtitle. Without that hint, the last two candidates are the title and the subtitle.
    """
    candidates: list[_Line] = []
    for line in reversed(lines[max(0, start - _HEADING_WINDOW) : start]):
        if line.body or (line.linked if dom else line.listed):
            break
        if line.headline:
            candidates.insert(0, line)
    if title:
        hint, exact = _key(title), True
    else:
        first = lines[0] if lines and not (lines[0].chrome or lines[0].listed) else None
        hint, exact = (_key(first.text), False) if first else ("", False)
    if hint:
        for i, line in enumerate(candidates):
            key = _key(line.text)
            if _titled(key, hint, line.words):
                rest = candidates[i + 1 :]
                return title or line.text, rest[-1].text if rest else None
        if not exact:  # further up
            for line in reversed(lines[1:start]):
                if line.headline and line.words >= 3 and _key(line.text) in hint:
                    return line.text, None
    if title:
        return title, None
    if len(candidates) >= 2:
        return candidates[-2].text, candidates[-1].text
    if candidates:
        return candidates[-1].text, None
    if hint and lines[0].headline:
        return _clean_title(lines[0].text), None
    return None, None


def clean_text(text: str, title: str | None = None, chrome: set[str] | None = None) -> _Parts:
    """Split scraped plain text into title, subtitle and body paragraphs, dropping the chrome
    (and the lines whose :func:`~worker.boilerplate.line_hash` is in ``chrome``)."""
    lines = _text_lines(_lines(text))
    parts = _body(_classify(lines, chrome), title)
    parts.lines = [line.text for line in lines]
    return parts


def _same_block(lines: list[_Line], start: int, stop: int) -> list[int]:
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


def _body(lines: list[_Line], title: str | None, dom: bool = False) -> _Parts:
    """Title, subtitle and paragraphs of the article in the classified ``lines``; ``dom``: the
    lines come from HTML, their blocks are elements."""
    segments = _segments(_scores(lines))
    if not segments:  # nothing reads like prose: keep what is not obviously chrome
        return _Parts(title, None, [ln.text for ln in lines if not (ln.chrome or ln.listed)])
    # The article comes before comments, rules and teasers: the first stretch that scores at
    # least half the best one.
    best = max(total for _, _, total in segments)
    start, stop, _ = next(s for s in segments if s[2] >= _FIRST_SHARE * best)
    keep = _same_block(lines, start, stop) if dom else list(range(start, stop))
    start = keep[0]

    title, subtitle = _headings(lines, start, title, dom)
    seen = {_key(t) for t in (title, subtitle) if t}
    body: list[tuple[str, str]] = []
    for line in (lines[i] for i in keep):
        if line.chrome or line.listed or (line.meta and not line.body):
            continue
        key = _key(line.text)
        if key and key in seen:
            continue
        seen.add(key)
        body.append((key, line.text))
    paragraphs = [
        text for i, (key, text) in enumerate(body) if not _repeated(key, body[i + 1 : i + 4])
    ]
    return _Parts(title, subtitle, paragraphs, span=(start, keep[-1] + 1))


def _repeated(key: str, later: list[tuple[str, str]]) -> bool:
    """Whether a paragraph (its key) is a lead that one of the next ones repeats: it has it all,
    or begins it, in at least a sentence's worth of words."""
    if key.count(" ") < _BODY_WORDS:
        return False
    return any(
        f" {key} " in f" {other} " or (key.startswith(other) and other.count(" ") >= _BODY_WORDS)
        for other, _ in later
    )


# --- HTML --------------------------------------------------------------------------------------

_TITLE_SEPARATOR = re.compile(r"(\s+(?:[|/»«:]|//|::|-|–|—)\s+|:\s+(?=\S+$))")
_SITE_NAME = re.compile(r"[A-Za-z]|\.\w|новост|газет|агентств|журнал|портал|информ", re.IGNORECASE)
_BLOCK_TAGS = defs.block_tags | {"br", "title", "main", "section", "article", "header", "footer"}
_BLOCK_TAGS |= {"nav", "aside", "figure", "figcaption", "details", "summary"}


def _site_name(part: str) -> bool:
    return len(_WORD.findall(part)) <= 4 and bool(_SITE_NAME.search(part) or part.isupper())


def _clean_title(title: str | None) -> str | None:
    """Drop site names glued to a headline ("Headline | Rubric - Site.ru")."""
    title = _one_line(title)
    if not title:
        return None
    parts = _TITLE_SEPARATOR.split(title)  # text, separator, text, ...
    while len(parts) > 2 and _site_name(parts[-1]):
        del parts[-2:]
    while len(parts) > 2 and _site_name(parts[0]):
        del parts[:2]
    return "".join(parts)


_PARSER = etree.HTMLParser(
    encoding="utf-8", remove_comments=True, remove_pis=True, collect_ids=False
)


def _parse(html: str) -> etree._Element:
    """The page's tree (a fragment gets a document around it)."""
    try:
        tree = etree.fromstring(html.encode("utf-8", "replace"), parser=_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError):
        tree = None
    if tree is None:
        raise BadArticle("unparseable HTML")
    return tree


def _text(el: etree._Element) -> str:
    return "".join(el.itertext())


def _meta(tree: etree._Element) -> dict[str, str]:
    """The page's <meta> contents by name, property or itemprop (lowercased; the first wins)."""
    out: dict[str, str] = {}
    for el in tree.iter("meta"):
        name = el.get("property") or el.get("name") or el.get("itemprop")
        content = el.get("content")
        if name and content and content.strip():
            out.setdefault(name.strip().lower(), content)
    return out


def _html_title(tree: etree._Element, meta: dict[str, str]) -> str | None:
    """The headline: og:title, an <h1> or <h2> repeated in the <title>, or the <title> without
    its site name."""
    page_title = _one_line(tree.findtext(".//title"))
    hint = _key(page_title or "")
    social = meta.get("og:title") or meta.get("twitter:title")
    candidates = [social, *(_text(el) for el in tree.iter("h1", "h2"))]
    for candidate in candidates:
        candidate = _one_line(candidate)
        if candidate and len(_WORD.findall(candidate)) >= 2 and _key(candidate) in hint:
            return candidate
    social = _one_line(social)
    if social and len(_WORD.findall(social)) >= 3 and not _chrome(social):
        return _clean_title(social)
    return _clean_title(page_title)


_SKIP_TAGS = {"script", "style", "noscript", "template", "select", "option", "button", "textarea"}
_SKIP_TAGS |= {"iframe", "object", "svg", "head"}


_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


def _hidden(el: etree._Element) -> bool:
    style = el.get("style")
    return el.get("hidden") is not None or bool(style and _HIDDEN.search(style))


def _counter(el: etree._Element) -> bool:
    """A link that is only a number: a comment counter, a page number or a footnote mark."""
    return el.tag == "a" and not len(el) and (el.text or "").strip().isdigit()


class _Walker:
    """The page's visible text as lines: one per block element (or <br>), whitespace collapsed
    as a browser does, with the share of its characters in links and its block (the parent of
    its block element)."""

    def __init__(self) -> None:
        self.lines: list[_Line] = []
        self.stack: list[int] = [0]
        self.serial = 0
        self.parts: list[str] = []
        self.link_chars = 0

    def flush(self) -> None:
        if not self.parts:
            return
        text = unicodedata.normalize("NFC", "".join(self.parts))
        text = " ".join(_INVISIBLE.sub("", text).split())
        if text:
            block = self.stack[-2] if len(self.stack) > 1 else 0
            line = _Line(text, block, len(_WORD.findall(text)))
            line.link = min(1.0, self.link_chars / len(text))
            self.lines.append(line)
        self.parts, self.link_chars = [], 0

    def add(self, text: str | None, link: bool) -> None:
        if text:
            self.parts.append(text)
            if link:
                self.link_chars += len(text.strip())

    def walk(self, el: etree._Element, link: bool = False) -> None:
        tag = el.tag
        if not isinstance(tag, str) or tag in _SKIP_TAGS or _hidden(el) or _counter(el):
            return
        link = link or tag == "a"
        if tag == "br":
            self.flush()
            return
        block = tag in _BLOCK_TAGS
        if block:
            self.flush()
            self.serial += 1
            self.stack.append(self.serial)
        self.add(el.text, link)
        for child in el:
            self.walk(child, link)
            self.add(child.tail, link)
        if block:
            self.flush()
            self.stack.pop()


def _html_lines(tree: etree._Element) -> list[_Line]:
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


def _around(lines: list[_Line], span: tuple[int, int]) -> list[_Line]:
    """The lines right above the body (its first one too) and right below it."""
    start, stop = span
    return [*lines[max(0, start - _HEADING_WINDOW) : start + 1], *lines[stop : stop + 3]]


# --- author --------------------------------------------------------------------------------------

_AUTHOR_KEYS = ("author", "article:author", "og:article:author", "byl", "dc.creator")
_DOMAIN = re.compile(r"://|\w\.[a-z]{2,}\b", re.IGNORECASE)  # a URL or a site, not a person
_BYLINE = re.compile(r"(?:автор\w*|текст)\s*:?\s*", re.IGNORECASE)
_PERSON = re.compile(r"(?:[A-ZА-ЯЁ][\w’'-]*\.? ?){2,4}")  # two to four capitalised words


def _author(author: str | None) -> str | None:
    author = _one_line(author)
    if not author or len(_WORD.findall(author)) > 6 or _DOMAIN.search(author) or _chrome(author):
        return None
    return author


def _meta_author(
    tree: etree._Element, meta: dict[str, str], lines: list[_Line], span: tuple[int, int]
) -> str | None:
    """The author from the <meta> tags, else a person's name in an element marked as the author
    (itemprop, rel or class "author") written right above or below the body."""
    for key in _AUTHOR_KEYS:
        if author := _author(meta.get(key)):
            return author
    near = {line.text for line in _around(lines, span)}
    marked = '//*[@itemprop="author" or @rel="author" or contains(@class, "author")]'
    for el in tree.xpath(marked):
        text = _one_line(el.get("content") or _text(el)) or ""
        name = _BYLINE.sub("", text, count=1)
        if (text in near or el.get("content")) and _PERSON.fullmatch(name):
            return _author(name)
    return None


# --- dates ---------------------------------------------------------------------------------------

_DATE_KEYS = (
    "article:published_time", "og:article:published_time", "datepublished", "published_time",
    "pubdate", "publishdate", "publish-date", "date", "dc.date", "dc.date.issued",
    "dcterms.created", "dcterms.date", "sailthru.date",
)  # fmt: skip
_MONTH_STEMS = ("январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр",
                "октябр", "ноябр", "декабр")  # fmt: skip
_ISO_DATE = re.compile(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)")
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-]?(\d\d)[/-]?(\d\d)(?=/|\D)")
_NUMERIC_DATE = re.compile(r"\b(\d\d?)\.(\d\d?)\.((?:19|20)?\d\d)\b")
_WORDED_DATE = re.compile(
    rf"\b(\d\d?) ((?:{_MONTHS})\w*),? ((?:19|20)?\d\d)\b(?![:.]\d)", re.IGNORECASE
)


def _iso(year: int, month: int, day: int) -> str | None:
    """``YYYY-MM-DD`` when it is a real date between 1990 and next year."""
    if year < 100:
        year += 2000
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return None
    return date.isoformat() if 1990 <= year <= dt.date.today().year + 1 else None


def _find_date(text: str, iso: bool = True) -> str | None:
    """The first date written in ``text`` (ISO, dd.mm.yyyy or "5 января 2012")."""
    found = []
    if iso and (m := _ISO_DATE.search(text)):
        found.append((m.start(), _iso(int(m[1]), int(m[2]), int(m[3]))))
    if m := _NUMERIC_DATE.search(text):
        found.append((m.start(), _iso(int(m[3]), int(m[2]), int(m[1]))))
    if m := _WORDED_DATE.search(text):
        month = next(i for i, s in enumerate(_MONTH_STEMS, 1) if m[2].lower().startswith(s))
        found.append((m.start(), _iso(int(m[3]), month, int(m[1]))))
    return min((f for f in found if f[1]), default=(0, None))[1]


def _url_date(url: str | None) -> str | None:
    m = _URL_DATE.search(url or "")
    return _iso(int(m[1]), int(m[2]), int(m[3])) if m else None


def _meta_date(tree: etree._Element, meta: dict[str, str], url: str | None) -> str | None:
    """The publication date from the <meta> tags or the page's URL (as given, else canonical)."""
    for key in _DATE_KEYS:
        if key in meta and (date := _find_date(meta[key])):
            return date
    canonical = tree.xpath('string(//link[@rel="canonical"]/@href)')
    return _url_date(url) or _url_date(meta.get("og:url")) or _url_date(canonical)


def _marked_date(tree: etree._Element) -> str | None:
    """The first date of a <time> or itemprop="datePublished" element."""
    for el in tree.xpath('//*[@itemprop="datePublished"]|//time'):
        text = el.get("datetime") or el.get("content") or _text(el)
        if date := _find_date(text):
            return date
    return None


def _text_date(lines: list[_Line], span: tuple[int, int], near: bool = True) -> str | None:
    """The first date written in a short line above the body, else below it; or, when not
    ``near``, anywhere on the page (a site's header often shows today's date)."""
    for line in _around(lines, span) if near else lines:
        if line.meta and (date := _find_date(line.text, iso=False)):
            return date
    return None


def _date(
    tree: etree._Element,
    meta: dict[str, str],
    url: str | None,
    lines: list[_Line],
    span: tuple[int, int],
) -> str | None:
    """The publication date: from the metadata, else written next to the body, else marked up
    somewhere, else written anywhere."""
    return (
        _meta_date(tree, meta, url)
        or _text_date(lines, span)
        or _marked_date(tree)
        or _text_date(lines, span, near=False)
    )


def clean_html(html: str, url: str | None = None, chrome: set[str] | None = None) -> _Parts:
    """Main text paragraphs and metadata of an HTML page, parsed once."""
    tree = _parse(html)
    meta = _meta(tree)
    page = _html_lines(tree)
    lines = _classify(page, chrome)
    parts = _body(lines, _html_title(tree, meta), dom=True)
    parts.lines = [line.text for line in page]
    parts.author = _meta_author(tree, meta, lines, parts.span)
    parts.date = _date(tree, meta, url, lines, parts.span)
    return parts


def warm_up() -> None:
    """Run a first page through (compiles what is compiled lazily): call it in a worker's
    parent process before forking."""
    page = (
        "<html><head><title>Новости дня</title></head><body><article><h1>Заголовок</h1>"
        "<p>Опубликовано 5 января 2012 года в 10:30.</p>"
        "<p>Первый абзац новости, достаточно длинный, чтобы его признали текстом статьи.</p>"
        "</article></body></html>"
    )
    clean(RawArticle(html=page))


# --- the stage -----------------------------------------------------------------------------------


def clean(
    raw: RawArticle, *, chrome: set[str] | None = None, max_text_chars: int = 200_000
) -> Clean:
    """The article's main text, title, subtitle, author, date and language.

    ``chrome``: hashes (:func:`~worker.boilerplate.line_hash`) of lines known to be the
    source's chrome (:meth:`~worker.boilerplate.SourceChrome.known`); they are dropped.
    Raises :class:`BadArticle` when nothing is left or the text is longer than ``max_text_chars``.
    """
    return clean_page(raw, chrome=chrome, max_text_chars=max_text_chars)[0]


def clean_page(
    raw: RawArticle, *, chrome: set[str] | None = None, max_text_chars: int = 200_000
) -> tuple[Clean, list[str]]:
    """:func:`clean`, and all the lines of the page: what
    :meth:`~worker.boilerplate.SourceChrome.learn` counts."""
    title = _one_line(raw.title)
    parts = _Parts(title, None, [])
    if raw.html and raw.html.strip():
        parts = clean_html(raw.html, raw.url, chrome)
        parts.title = title or parts.title
    if not parts.paragraphs and raw.text and raw.text.strip():
        found = clean_text(raw.text, parts.title, chrome)
        found.author, found.date = parts.author, parts.date
        parts = found
    given = _key(parts.title) if parts.title else None
    text = "\n\n".join(p for p in parts.paragraphs if p and _key(p) != given)
    if not text:
        raise BadArticle("empty after cleaning")
    if len(text) > max_text_chars:
        raise BadArticle(f"clean text too long: {len(text)} chars > {max_text_chars}")
    subtitle = _one_line(parts.subtitle)
    title = _one_line(parts.title)
    cleaned = Clean(
        text=text,
        title=title,
        subtitle=subtitle if subtitle and _key(subtitle) != given else None,
        author=parts.author,
        published_at=raw.published_at or parts.date or None,
        language=detect_language(text),
        chrome=cut_lines(parts.lines, text, (title, subtitle)),
    )
    return cleaned, parts.lines


_CUT_LINES = 500  # at most so many cut lines are kept with an article


def cut_lines(lines: list[str], text: str, headings: tuple[str | None, ...] = ()) -> list[CutLine]:
    """The page's ``lines`` that are neither a paragraph of the clean ``text`` nor one of its
    ``headings``: what cleaning cut, each at the offset of the paragraph it stood before."""
    offsets: dict[str, list[int]] = {}
    pos = 0
    for paragraph in text.split("\n\n"):
        offsets.setdefault(paragraph, []).append(pos)
        pos += len(paragraph) + 2
    kept_headings = {normalize(h) for h in headings if h}
    out: list[CutLine] = []
    cursor = 0
    for line in lines:
        line = line.strip()
        if not line:
            continue
        at = next((o for o in offsets.get(line, ()) if o >= cursor), None)
        if at is not None:
            cursor = at + len(line)
        elif normalize(line) not in kept_headings:
            out.append(CutLine(at=min(cursor + 2 if cursor else 0, len(text)), text=line))
            if len(out) >= _CUT_LINES:
                break
    return out
