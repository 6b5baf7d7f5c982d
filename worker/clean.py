"""The clean stage: from a submitted page or scraped text to the article's main text.

HTML goes through trafilatura (precision mode first, recall mode when that finds little), parsed
once with lxml. Plain text, as scrapers deliver it with the site's chrome (menus, link lists,
"Читайте также", counters, footers), goes through a line classifier: the body is the stretch of
prose-like lines with the best score, the title and subtitle are the headline-like lines right
before it. Both paths end in the same normalisation and language guess.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import trafilatura
from lxml.html import HtmlElement

from worker.errors import BadArticle
from worker.schema import Clean, RawArticle

# --- normalisation ---------------------------------------------------------------------------

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
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
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
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
# Whole lines that are site chrome, not article text.
_CHROME = re.compile(
    r"(?:(?:читайте|читай|смотрите|см\.)(?: так ?же| ещё| еще| далее)?|подпис\w+|"
    r"(?:все|последние|другие|главные|похожие|горячие|свежие)? ?новости(?: и материалы| по теме"
    r"| партн[её]ров| дня| часа)?|материалы по теме|по теме|ссылки по теме|лента новостей|"
    r"(?:новые |последние |все )?коммент\w*|(?:добавить|оставить|написать) комментарий|"
    r"поделиться|распечатать|версия для печати|tweet|нравится|реклама|загрузка\.*|ответить|"
    r"наверх|на главную|главная|назад|вперед|вперёд|далее|подробнее)"
    r"\W*(?:\d+\W*)?$"
    rf"|.{{0,60}}\b(?:в|во|на|мы в) (?:{_SOCIAL})\W*$"
    r"|(?:читайте|читай|смотрите) (?:так ?же|ещё|еще)\b.*"
    r"|(?:подписывайтесь|подпишитесь|присоединяйтесь)\b.*"
    r"|(?:теги|метки|tags|просмотров|комментариев|рейтинг|источник|фото|видео|автор)\s*:.{0,200}"
    r"|(?:фото|photo)\b.{0,80}"
    r"|.*(?:©|\(c\)|все права защищены|ссылка обязательна|гиперссылк|при (?:использовании|"
    r"цитировании|перепечатке)|свидетельство о регистрации|javascript|cookie"
    r"|(?:на|с) (?:нашем|нашего|этом|этого) сайт|администраци\w* сайта|правила\w* коммент"
    r"|(?:ваш|свой) (?:комментарий|отзыв)|зарегистр\w+ пользовател|модератор).*",
    re.IGNORECASE,
)

P = dict(
    body_words=8,
    chrome=10.0,
    listed=3.0,
    other=2.0,
    gap=1.0,
    list_frac=0.5,
    dots=True,
    alpha=0.5,
    repeat=3,
)


@dataclass
class _Line:
    text: str
    block: int
    words: int
    body: bool = False
    chrome: bool = False
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
        line.chrome = bool(_CHROME.fullmatch(text))
        line.meta = words <= 8 and bool(_DATE.search(text))
        line.body = (
            words >= P["body_words"]
            and not line.chrome
            and bool(_TERMINAL.search(text))
            and not (P["dots"] and text.endswith(("...", "…")))
        )
        out.append(line)
        if not has_blanks:
            block += 1
    # A line repeated three times or more is a template (comment widgets, teasers' buttons).
    counts = Counter(line.text for line in out)
    for line in out:
        if counts[line.text] >= P["repeat"]:
            line.chrome, line.body = True, False
    # A block of three or more lines, mostly not prose, is a menu or a list of links.
    by_block: dict[int, list[_Line]] = {}
    for line in out:
        by_block.setdefault(line.block, []).append(line)
    for members in by_block.values():
        prose = sum(len(m.text) for m in members if m.body)
        if len(members) >= 3 and prose < P["list_frac"] * sum(len(m.text) for m in members):
            for m in members:
                m.listed = not m.body
    return out


def _scores(lines: list[_Line]) -> list[float]:
    """Prose lines score their word count; anything else costs, more the longer the gap."""
    scores: list[float] = []
    gap = 0
    for line in lines:
        if line.body:
            gap = 0
            scores.append(line.words)
            continue
        gap += 1
        cost = P["chrome"] if line.chrome else P["listed"] if line.listed else P["other"]
        scores.append(-max(cost, line.words / 2) - P["gap"] * (gap - 1))
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


def clean_text(text: str, title: str | None = None) -> tuple[str | None, str | None, list[str]]:
    """Split scraped plain text into (title, subtitle, body paragraphs), dropping the chrome."""
    lines = _classify(_lines(text))
    segments = [s for s in _segments(_scores(lines))]
    if not segments:  # nothing reads like prose: keep what is not obviously chrome
        return title, None, [ln.text for ln in lines if not (ln.chrome or ln.listed)]
    # The article comes before comments, rules and teasers: the first stretch that scores at
    # least half the best one.
    best = max(total for _, _, total in segments)
    start, stop, _ = next(s for s in segments if s[2] >= P["alpha"] * best)

    # Headline-like lines right before the body: title, then subtitle.
    run: list[str] = []
    for line in reversed(lines[:start]):
        if line.meta or (line.chrome and not line.listed):
            continue
        if not line.headline or line.listed:
            break
        run.insert(0, line.text)
    if title:
        given = _key(title)
        subtitle = run[-1] if len(run) >= 2 and _key(run[-1]) != given else None
    else:
        title, subtitle = (run[-2], run[-1]) if len(run) >= 2 else (run[-1] if run else None, None)

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

_TITLE_SEPARATOR = re.compile(r"\s+(?:\||-|–|—|::|/|»|«)\s+")
_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "td",
        "th",
        "section",
        "article",
        "header",
        "footer",
        "nav",
        "aside",
        "blockquote",
        "pre",
        "form",
        "dd",
        "dt",
        "dl",
        "figure",
        "figcaption",
        "main",
        "title",
    ]
)


def _clean_title(title: str | None) -> str | None:
    """Drop a site name or rubric glued to the headline ("Headline | Rubric - Site")."""
    if not title:
        return None
    parts = _TITLE_SEPARATOR.split(title)
    if len(parts) > 1:
        longest = max(parts, key=len)
        if len(_WORD.findall(longest)) >= 3 and all(
            len(_WORD.findall(p)) <= 4 for p in parts if p is not longest
        ):
            return longest.strip()
    return title.strip()


def _page_text(tree: HtmlElement) -> str:
    """All visible text of the page, one line per block element."""
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


def _extract(tree: HtmlElement, url: str | None, **options: bool) -> trafilatura.settings.Document:
    return trafilatura.bare_extraction(
        tree, url=url, include_comments=False, include_images=False, with_metadata=True, **options
    )


def _prose_chars(paragraphs: Iterable[str]) -> int:
    return sum(len(p) for p in paragraphs if not _CHROME.fullmatch(p))


def clean_html(html: str, url: str | None = None) -> tuple[dict[str, str | None], list[str]]:
    """Main text paragraphs and metadata (title, author, date) of an HTML page."""
    tree = trafilatura.load_html(html)
    if tree is None:
        raise BadArticle("unparseable HTML")
    doc = _extract(tree, url, favor_precision=True, include_tables=False)
    paragraphs = _lines(doc.text or "") if doc else []
    if _prose_chars(paragraphs) < 300:  # precision mode found (next to) nothing: ask for recall
        second = _extract(tree, url, favor_recall=True, include_tables=True)
        more = _lines(second.text or "") if second else []
        if _prose_chars(more) > _prose_chars(paragraphs):
            doc, paragraphs = doc or second, more
    meta = {
        "title": _clean_title(doc.title) if doc else None,
        "author": doc.author if doc else None,
        "date": doc.date if doc else None,
    }
    paragraphs = [p for p in paragraphs if p and not _CHROME.fullmatch(p)]
    if not paragraphs:  # trafilatura gave up: clean the page's flattened text instead
        title, _subtitle, paragraphs = clean_text(_page_text(tree), meta["title"])
        meta["title"] = title
    return meta, paragraphs


# --- the stage -----------------------------------------------------------------------------------


def clean(raw: RawArticle, *, max_text_chars: int = 200_000) -> Clean:
    """The article's main text, title, subtitle, author, date and language.

    Raises :class:`BadArticle` when nothing is left or the text is longer than ``max_text_chars``.
    """
    title = _one_line(raw.title)
    subtitle = author = published = None
    if raw.html and raw.html.strip():
        meta, paragraphs = clean_html(raw.html, raw.url)
        title = title or meta["title"]
        author, published = meta["author"], meta["date"]
        if not paragraphs and raw.text:
            title, subtitle, paragraphs = clean_text(raw.text, title)
    else:
        title, subtitle, paragraphs = clean_text(raw.text or "", title)
    given = _key(title) if title else None
    text = "\n\n".join(p for p in paragraphs if p and _key(p) != given)
    if not text:
        raise BadArticle("empty after cleaning")
    if len(text) > max_text_chars:
        raise BadArticle(f"clean text too long: {len(text)} chars > {max_text_chars}")
    return Clean(
        text=text,
        title=_one_line(title),
        subtitle=_one_line(subtitle),
        author=_one_line(author),
        published_at=raw.published_at or published or None,
        language=detect_language(text),
    )
