"""The sources file of ``newsworker watch``: one source a line.

    # comments and blank lines are ignored
    https://lenta.ru/rss                          the kind is told by the response
    feed https://example.ru/rss.xml every=10m     RSS, Atom or JSON Feed
    sitemap https://example.ru/news.xml every=1h  a (news) sitemap or a sitemap index
    page https://example.ru/2024/01/article       one page

``every=`` overrides ``NEWSWORKER_WATCH_INTERVAL`` for the line (``90``, ``30s``, ``10m``,
``2h``, ``1d``). :class:`SourcesFile` re-reads the file when it changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

SourceKind = Literal["auto", "feed", "sitemap", "page"]
KINDS = ("auto", "feed", "sitemap", "page")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")


class BadSources(ValueError):
    """A line of the sources file that is not a source."""


@dataclass(frozen=True)
class Source:
    url: str
    kind: SourceKind = "auto"
    interval: float | None = None  # None: the default


def duration(text: str) -> float:
    m = _DURATION.match(text.strip().lower())
    if not m:
        raise ValueError(f"not a duration: {text!r} (e.g. 90, 30s, 10m, 2h, 1d)")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_line(line: str) -> Source | None:
    line = line.split(" #", 1)[0].strip()
    if not line or line.startswith("#"):
        return None
    words = line.split()
    kind: SourceKind = "auto"
    if words[0].lower() in KINDS:
        kind = words.pop(0).lower()  # type: ignore[assignment]
    if not words:
        raise BadSources(f"no URL in {line!r}")
    url, options = words[0], words[1:]
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise BadSources(f"not an http(s) URL: {url!r}")
    interval = None
    for option in options:
        name, _, value = option.partition("=")
        if name.lower() not in ("every", "interval") or not value:
            raise BadSources(f"unknown option {option!r} (expected every=DURATION)")
        try:
            interval = duration(value)
        except ValueError as exc:
            raise BadSources(str(exc)) from None
    return Source(url, kind, interval)


def parse(text: str) -> list[Source]:
    """The sources of a file's text; :class:`BadSources` names the first bad line."""
    out: dict[str, Source] = {}
    for n, line in enumerate(text.splitlines(), 1):
        try:
            source = parse_line(line)
        except BadSources as exc:
            raise BadSources(f"line {n}: {exc}") from None
        if source is not None:
            out[source.url] = source  # a later line for the same URL wins
    return list(out.values())


class SourcesFile:
    """The file's sources, re-read when its modification time or size changes. A file that
    became unreadable or invalid keeps the last good list (the error is in ``error``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self.sources: list[Source] = []
        self.error: str | None = None

    def refresh(self) -> bool:
        """Re-read if changed; True when the list was (re)loaded."""
        stat = self.path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            self.sources = parse(self.path.read_text(encoding="utf-8"))
            self.error = None
        except (BadSources, UnicodeDecodeError) as exc:
            self.error = f"{self.path}: {exc}"
            if not self.sources:
                raise BadSources(self.error) from None
            return False
        return True
