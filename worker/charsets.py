"""Turning the bytes of a text or HTML payload into text, whatever its encoding.

In order: a byte-order mark (UTF-32, UTF-16, UTF-8) decides; then the charset the payload was
declared with (an HTTP ``Content-Type``, ``submit --encoding``, an HTML ``<meta charset>``) if
the bytes decode with it; then strict UTF-8; then detection. Detection first scores the
single-byte Cyrillic code pages (cp1251, KOI8-R, ISO-8859-5, cp866, mac-cyrillic) by how
Russian-like the decoded letters are (case and letter frequencies: a short KOI8-R headline is
still told from cp1251), and otherwise asks charset-normalizer.
"""

from __future__ import annotations

import codecs
import itertools
import re

import charset_normalizer


class Undecodable(ValueError):
    """The payload's bytes are not text in any encoding we can tell."""


_BOMS = (  # UTF-32 before UTF-16: the UTF-32-LE mark starts with the UTF-16-LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_MARKUP = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.S | re.I)  # scored: the text
_CYRILLIC_PAGES = ("cp1251", "koi8_r", "iso8859_5", "cp866", "mac_cyrillic")
_FREQUENT = frozenset("оеаинтсрвлкмдпу")  # about 80% of the letters of Russian prose
_RUSSIAN_WIDE = frozenset(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ«»—–„“”…№°\xa0"
)


def normal_name(encoding: str) -> str | None:
    """Python's name for ``encoding`` (None if it names none)."""
    try:
        return codecs.lookup(encoding.strip().strip("\"'")).name
    except LookupError:
        return None


def bom_encoding(data: bytes) -> str | None:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    return None


def meta_charset(data: bytes) -> str | None:
    """The charset an HTML page declares in a ``<meta>`` of its first 4 KB."""
    m = _META_CHARSET.search(data[:4096])
    return m.group(1).decode("ascii", "replace") if m else None


def decode(data: bytes, *, declared: str | None = None, html: bool = False) -> tuple[str, str]:
    """(text, encoding used). ``declared``: the charset the bytes came with, if any; ``html``:
    look for a ``<meta charset>`` too. Raises :class:`Undecodable`."""
    if bom := bom_encoding(data):
        return _strict(data, bom, "its byte-order mark")
    candidates = [declared] if declared else []
    if html and (meta := meta_charset(data)):
        candidates.append(meta)
    for name in candidates:
        encoding = normal_name(name)
        if encoding is not None:
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                pass  # a wrong declaration is common; detect instead
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    return detect(data)


def _strict(data: bytes, encoding: str, why: str) -> tuple[str, str]:
    try:
        return data.decode(encoding), codecs.lookup(encoding).name
    except UnicodeDecodeError as exc:
        raise Undecodable(f"not valid {encoding} although {why} says so: {exc}") from None


def russian_score(text: str) -> float:
    """0..1: how much ``text``'s letters look like Russian prose (0 if few are Cyrillic)."""
    letters = [c for c in text if c.isalpha()]
    cyrillic = [c for c in letters if "а" <= c.lower() <= "я" or c in "ёЁ"]
    if not cyrillic or len(cyrillic) < 0.3 * len(letters):
        return 0.0
    lower = sum(c.islower() for c in cyrillic) / len(cyrillic)
    frequent = sum(c.lower() in _FREQUENT for c in cyrillic) / len(cyrillic)
    # A capital inside a word ("кеЯменб": Greek read as cp1251) is rare in Russian.
    inner = sum(a.islower() and b.isupper() for a, b in itertools.pairwise(text))
    wide = [c for c in text if ord(c) > 127]
    odd = sum(c not in _RUSSIAN_WIDE for c in wide) / len(wide)
    # Prose is mostly lower case (a code page read as another swaps the cases), but a
    # headline may be all capitals: the letters' frequencies decide then.
    case = 0.5 + 0.5 * min(1.0, lower / 0.7)
    return case * frequent * (1 - odd) * max(0.0, 1 - 5 * inner / len(cyrillic))


def detect(data: bytes) -> tuple[str, str]:
    """Decode bytes of no known encoding. Raises :class:`Undecodable`."""
    best, best_score = None, 0.0
    for encoding in _CYRILLIC_PAGES:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        score = russian_score(_MARKUP.sub(" ", text))
        if score > best_score:
            best, best_score = (text, encoding), score
    if best is not None and best_score >= 0.35:
        return best
    match = charset_normalizer.from_bytes(data).best()
    if match is None:
        raise Undecodable("the bytes are not text in any encoding charset-normalizer knows")
    return str(match), normal_name(match.encoding) or match.encoding
