"""The clean stage: from a submitted page or scraped text to the article's main text.

Plain text, as scrapers deliver it with the site's chrome (menus, link lists, "Читайте также",
counters, comment widgets, footers), goes through a line classifier (:func:`clean_text`): prose
lines score their length, everything else costs; the body is the first high-scoring stretch, the
title and subtitle the headline-like lines right above it.

HTML is parsed once (lxml); trafilatura in precision mode extracts the main text and the
metadata, and :func:`clean_text` on the page's flattened text gives a second opinion that wins
when it is the narrower of the two (:func:`clean_html`).

Both end in the same normalisation (:func:`normalize`) and language guess
(:func:`detect_language`). No Celery, no Redis: plain functions.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import trafilatura
from htmldate import find_date
from lxml.html import HtmlElement, defs
from trafilatura.settings import Document

from worker.errors import BadArticle
from worker.schema import Clean, RawArticle

# --- normalisation ---------------------------------------------------------------------------

_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")  # soft hyphen, zero-widths
_SPACES = re.compile(r"[^\S\n]+")  # any whitespace but the newline, nbsp included


def normalize(text: str) -> str:
    """NFC, no soft hyphens or zero-width characters, single spaces, stripped lines,
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
_MARKER = re.compile(
    r"(?:(?:читайте|читай|смотрите|см\.)(?: так ?же| ещё| еще| далее)?|подпис\w+|"
    r"(?:все|последние|другие|главные|похожие|горячие|свежие)? ?новости(?: и материалы| по теме"
    r"| партн[её]ров| дня| часа)?|материалы по теме|по теме|ссылки по теме|лента новостей|"
    r"(?:новые |последние |все )?коммент\w*|(?:добавить|оставить|написать) комментарий|"
    r"поделиться|распечатать|версия для печати|tweet|нравится|реклама|загрузка\.*|ответить|"
    r"наверх|на главную|главная|назад|вперед|вперёд|далее|подробнее)"
    r"\W*(?:\d+\W*)?"
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


def _classify(lines: list[str]) -> list[_Line]:
    has_blanks = "" in lines
    out: list[_Line] = []
    block = 0
    for text in lines:
        if not text:
            block += 1
            continue
        words = len(_WORD.findall(text))
        line = _Line(text, block, words)
        # section markers, buttons and legal lines end the article: they cost more
        line.boundary = bool(_MARKER.fullmatch(text) or _CHROME_WORDS.search(text))
        line.chrome = line.boundary or bool(_CHROME_LINE.fullmatch(text))
        line.meta = words <= 8 and bool(_DATE.search(text))
        line.body = (
            words >= _BODY_WORDS
            and not line.chrome
            and bool(_TERMINAL.search(text))
            and not text.endswith(("...", "…"))  # a teaser cut short
        )
        out.append(line)
        if not has_blanks:
            block += 1
    # A line repeated three times or more is a template (comment widgets, teasers' buttons).
    counts = Counter(line.text for line in out)
    for line in out:
        if counts[line.text] >= _TEMPLATE_REPEATS:
            line.chrome, line.boundary, line.body = True, True, False
    # A block of three or more lines, mostly not prose, is a menu or a list of links.
    by_block: dict[int, list[_Line]] = {}
    for line in out:
        by_block.setdefault(line.block, []).append(line)
    for members in by_block.values():
        prose = sum(len(m.text) for m in members if m.body)
        if len(members) >= 3 and prose < _LIST_PROSE_SHARE * sum(len(m.text) for m in members):
            for m in members:
                m.listed = not m.body
    return out


def _cost(line: _Line) -> float:
    if line.boundary:
        return _COST_BOUNDARY
    if line.chrome:
        return _COST_CHROME
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


def _best_span(scores: list[float], lo: int, hi: int) -> tuple[int, int, float]:
    """The stretch [start, stop) of scores[lo:hi] with the largest sum (Kadane)."""
    best, span = 0.0, (lo, lo)
    total, start = 0.0, lo
    for i in range(lo, hi):
        if total <= 0:
            total, start = 0.0, i
        total += scores[i]
        if total > best:
            best, span = total, (start, i + 1)
    return span[0], span[1], best


def _segments(scores: list[float]) -> list[tuple[int, int, float]]:
    """Disjoint stretches with a positive sum, in text order: the best one, then recursively
    the best ones left and right of it."""
    out, todo = [], [(0, len(scores))]
    while todo:
        lo, hi = todo.pop()
        start, stop, total = _best_span(scores, lo, hi)
        if stop > start:
            out.append((start, stop, total))
            todo += [(lo, start), (stop, hi)]
    return sorted(out)


def _key(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def _headings(lines: list[_Line], start: int, title: str | None) -> tuple[str | None, str | None]:
    """Title and subtitle: the headline-like lines in the few lines before the body.

    A scraped page usually starts with the HTML <title>, which repeats the headline: a candidate
    found in the first line (or equal to the given ``title``) is the title, and the last one after
    it the subtitle. Without that hint, the last two candidates are the title and the subtitle.
    """
    candidates: list[_Line] = []
    for line in reversed(lines[max(0, start - _HEADING_WINDOW) : start]):
        if line.body or line.listed:
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
            if key == hint or (not exact and line.words >= 3 and key in hint):
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


def clean_text(text: str, title: str | None = None) -> tuple[str | None, str | None, list[str]]:
    """Split scraped plain text into (title, subtitle, body paragraphs), dropping the chrome."""
    lines = _classify(_lines(text))
    segments = _segments(_scores(lines))
    if not segments:  # nothing reads like prose: keep what is not obviously chrome
        return title, None, [ln.text for ln in lines if not (ln.chrome or ln.listed)]
    # The article comes before comments, rules and teasers: the first stretch that scores at
    # least half the best one.
    best = max(total for _, _, total in segments)
    start, stop, _ = next(s for s in segments if s[2] >= _FIRST_SHARE * best)

    title, subtitle = _headings(lines, start, title)
    seen = {_key(t) for t in (title, subtitle) if t}
    body: list[str] = []
    for line in lines[start:stop]:
        if line.chrome or line.listed or (line.meta and not line.body):
            continue
        key = _key(line.text)
        if key and key in seen:
            continue
        seen.add(key)
        body.append(line.text)
    return title, subtitle, body


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


def _html_title(tree: HtmlElement, title: str | None) -> str | None:
    """The headline: trafilatura's title, an <h1> or <h2> repeated in the <title>, or the
    <title> without its site name."""
    page_title = _one_line(tree.findtext(".//title"))
    hint = _key(page_title or "")
    candidates = [title, *(el.text_content() for el in tree.iter("h1", "h2"))]
    for candidate in candidates:
        candidate = _one_line(candidate)
        if candidate and len(_WORD.findall(candidate)) >= 2 and _key(candidate) in hint:
            return candidate
    title = _one_line(title)
    if title and len(_WORD.findall(title)) >= 3 and not _chrome(title):
        return _clean_title(title)
    return _clean_title(page_title)


def _page_text(tree: HtmlElement) -> str:
    """All visible text of the page, one line per block element (libxml2 caps the depth at 255,
    so the recursion is safe)."""
    parts: list[str] = []

    def walk(el: HtmlElement) -> None:
        if not isinstance(el.tag, str) or el.tag in ("script", "style", "noscript", "template"):
            return
        block = el.tag in _BLOCK_TAGS
        if block:
            parts.append("\n")
        parts.append(el.text or "")
        for child in el:
            walk(child)
            parts.append(child.tail or "")
        if block:
            parts.append("\n")

    walk(tree)
    return "".join(parts)


_MIN_EXTRACTED_CHARS = 300  # less than this from trafilatura counts as finding nothing
_CONTAINED = 0.9  # share of the text cleaner's body that must lie within trafilatura's text


def _extract(tree: HtmlElement, url: str | None, **options: bool) -> Document | None:
    return trafilatura.bare_extraction(
        tree,
        url=url,
        include_comments=False,
        include_images=False,
        date_extraction_params={"original_date": True, "extensive_search": False},
        **options,
    )


def _contained(inner: list[str], outer: list[str]) -> float:
    """Share of the word tokens of ``inner`` that ``outer`` also has (as multisets)."""
    words = Counter(_WORD.findall(" ".join(inner)))
    total = sum(words.values())
    return sum((words & Counter(_WORD.findall(" ".join(outer)))).values()) / total if total else 0.0


def _author(author: str | None) -> str | None:
    author = _one_line(author)
    if not author or len(_WORD.findall(author)) > 6 or _chrome(author):
        return None
    return author


@dataclass
class _Parts:
    title: str | None
    subtitle: str | None
    paragraphs: list[str]
    author: str | None = None
    date: str | None = None


def clean_html(html: str, url: str | None = None) -> _Parts:
    """Main text paragraphs and metadata of an HTML page, parsed once.

    trafilatura in precision mode gives the main text; the plain-text cleaner, run on the page's
    flattened text, gives a second opinion. When trafilatura finds little, or when the cleaner's
    body lies (almost) entirely within trafilatura's text, the cleaner's narrower body wins:
    what trafilatura has beyond it is then chrome (related links, footers, comment forms).
    """
    # trafilatura refuses a bare fragment ("<p>…</p>"): give it a document around it.
    tree = trafilatura.load_html(html)
    if tree is None:
        tree = trafilatura.load_html(f"<html><body>{html}</body></html>")
    if tree is None:
        raise BadArticle("unparseable HTML")
    doc = _extract(tree, url, favor_precision=True, include_tables=False, with_metadata=True)
    extracted = [p for p in _lines(doc.text or "") if p and not _chrome(p)] if doc else []
    title = _html_title(tree, doc.title if doc else None)
    date = doc.date if doc else None
    if not date:  # htmldate's extensive search (dateparser over the page's text) is costly
        date = find_date(tree, extensive_search=True, original_date=True, url=url)
    parts = _Parts(title, None, extracted, _author(doc.author) if doc else None, date)
    _, subtitle, body = clean_text(_page_text(tree))
    if body and (
        sum(map(len, extracted)) < _MIN_EXTRACTED_CHARS or _contained(body, extracted) >= _CONTAINED
    ):
        parts.subtitle, parts.paragraphs = subtitle, body
    if not parts.paragraphs:  # last resort: trafilatura's recall mode, tables included
        doc = _extract(tree, url, favor_recall=True, include_tables=True)
        parts.paragraphs = [p for p in _lines(doc.text or "") if p] if doc else []
    return parts


def warm_up() -> None:
    """Load what the first call would (trafilatura, htmldate's date parser and its locale
    tables, which cost about a second): call it in a worker's parent process before forking."""
    page = (
        "<html><head><title>Новости дня</title></head><body><article><h1>Заголовок</h1>"
        "<p>Опубликовано 5 января 2012 года в 10:30.</p>"
        "<p>Первый абзац новости, достаточно длинный, чтобы его признали текстом статьи.</p>"
        "</article></body></html>"
    )
    clean(RawArticle(html=page))


# --- the stage -----------------------------------------------------------------------------------


def clean(raw: RawArticle, *, max_text_chars: int = 200_000) -> Clean:
    """The article's main text, title, subtitle, author, date and language.

    Raises :class:`BadArticle` when nothing is left or the text is longer than ``max_text_chars``.
    """
    title = _one_line(raw.title)
    parts = _Parts(title, None, [])
    if raw.html and raw.html.strip():
        parts = clean_html(raw.html, raw.url)
        parts.title = title or parts.title
    if not parts.paragraphs and raw.text and raw.text.strip():
        parts = _Parts(*clean_text(raw.text, parts.title), author=parts.author, date=parts.date)
    given = _key(parts.title) if parts.title else None
    text = "\n\n".join(p for p in parts.paragraphs if p and _key(p) != given)
    if not text:
        raise BadArticle("empty after cleaning")
    if len(text) > max_text_chars:
        raise BadArticle(f"clean text too long: {len(text)} chars > {max_text_chars}")
    subtitle = _one_line(parts.subtitle)
    return Clean(
        text=text,
        title=_one_line(parts.title),
        subtitle=subtitle if subtitle and _key(subtitle) != given else None,
        author=parts.author,
        published_at=raw.published_at or parts.date or None,
        language=detect_language(text),
    )
