"""The stage: a submitted page or scraped text in, a :class:`~worker.schema.Clean` out."""

from __future__ import annotations

from py3langid.langid import LanguageIdentifier

from worker.clean.authors import page_author
from worker.clean.body import Parts, find_body
from worker.clean.cut import cut_lines
from worker.clean.dates import page_date
from worker.clean.html import html_lines, parse
from worker.clean.lines import classify, text_lines
from worker.clean.metadata import meta_tags, page_meta
from worker.clean.normalize import one_line, split_lines, text_key
from worker.clean.titles import html_title
from worker.errors import BadArticle
from worker.schema import Clean, RawArticle
from worker.text import detect_language


def clean_text(text: str, title: str | None = None, chrome: set[str] | None = None) -> Parts:
    """Split scraped plain text into title, subtitle and body paragraphs, dropping the chrome
    (and the lines whose :func:`~worker.clean.chrome.line_hash` is in ``chrome``)."""
    lines = text_lines(split_lines(text))
    parts = find_body(classify(lines, chrome), title)
    parts.lines = [line.text for line in lines]
    return parts


def clean_html(html: str, url: str | None = None, chrome: set[str] | None = None) -> Parts:
    """Main text paragraphs and metadata of an HTML page, parsed once."""
    tree = parse(html)
    meta = meta_tags(tree)
    page = html_lines(tree)
    lines = classify(page, chrome)
    found = page_meta(tree, meta)
    parts = find_body(lines, html_title(tree, meta, found.title), dom=True)
    parts.lines = [line.text for line in page]
    parts.meta = found
    parts.author = (parts.meta.authors or [None])[0] or page_author(tree, meta, lines, parts.span)
    parts.date = (
        parts.meta.published
        or page_date(tree, meta, url, lines, parts.span)
        or parts.meta.modified  # a page that gives only its last change: its latest date
    )
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


def clean(
    raw: RawArticle,
    *,
    chrome: set[str] | None = None,
    max_text_chars: int = 200_000,
    min_text_chars: int = 0,
    languages: LanguageIdentifier | None = None,
) -> Clean:
    """The article's main text, title, subtitle, author, date and language.

    ``chrome``: hashes (:func:`~worker.clean.chrome.line_hash`) of lines known to be the
    source's chrome (:meth:`~worker.clean.chrome.SourceChrome.known`); they are dropped.
    ``languages``: the language model (:func:`~worker.text.load_language_model`); without it
    the language is not identified (None).
    Raises :class:`BadArticle` when nothing is left, the text is shorter than ``min_text_chars``
    ("too short after cleaning") or longer than ``max_text_chars``.
    """
    return clean_page(
        raw,
        chrome=chrome,
        max_text_chars=max_text_chars,
        min_text_chars=min_text_chars,
        languages=languages,
    )[0]


def clean_page(
    raw: RawArticle,
    *,
    chrome: set[str] | None = None,
    max_text_chars: int = 200_000,
    min_text_chars: int = 0,
    languages: LanguageIdentifier | None = None,
) -> tuple[Clean, list[str]]:
    """:func:`clean`, and all the lines of the page: what
    :meth:`~worker.clean.chrome.SourceChrome.learn` counts."""
    title = one_line(raw.title)
    parts = Parts(title, None, [])
    if raw.html and raw.html.strip():
        parts = clean_html(raw.html, raw.url, chrome)
        parts.title = title or parts.title
    if not parts.paragraphs and raw.text and raw.text.strip():
        found = clean_text(raw.text, parts.title, chrome)
        found.author, found.date, found.meta = parts.author, parts.date, parts.meta
        parts = found
    given = text_key(parts.title) if parts.title else None
    text = "\n\n".join(p for p in parts.paragraphs if p and text_key(p) != given)
    if not text:
        raise BadArticle("empty after cleaning")
    if len(text) < min_text_chars:
        raise BadArticle(f"too short after cleaning: {len(text)} chars < {min_text_chars}")
    if len(text) > max_text_chars:
        raise BadArticle(f"clean text too long: {len(text)} chars > {max_text_chars}")
    subtitle = one_line(parts.subtitle)
    title = one_line(parts.title)
    cleaned = Clean(
        text=text,
        title=title,
        subtitle=subtitle if subtitle and text_key(subtitle) != given else None,
        author=parts.author,
        authors=parts.meta.authors or ([parts.author] if parts.author else []),
        published_at=raw.published_at or parts.date or None,
        language=detect_language(text, languages) if languages else None,
        modified_at=parts.meta.modified,
        description=parts.meta.description,
        canonical_url=parts.meta.canonical_url,
        site_name=parts.meta.site_name,
        section=parts.meta.section,
        tags=parts.meta.tags,
        image_url=parts.meta.image_url,
        chrome=cut_lines(parts.lines, text, (title, subtitle)),
    )
    return cleaned, parts.lines
