"""Text normalisation: NFC, invisible characters out, one space, one blank line between
paragraphs; and the key two lines are compared by."""

from __future__ import annotations

import re
import unicodedata

# soft hyphen, zero-widths, control characters
INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff\x00-\x08\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[^\S\n]+")  # any whitespace but the newline, nbsp included


def normalize(text: str) -> str:
    """NFC, no soft hyphens, zero-width or control characters, single spaces, stripped lines,
    paragraphs separated by exactly one blank line, no leading or trailing whitespace."""
    return "\n".join(split_lines(text))


def one_line(text: str | None) -> str | None:
    """``text`` normalised onto one line; None when nothing is left."""
    joined = " ".join(line for line in split_lines(text or "") if line)
    return joined or None


def split_lines(text: str) -> list[str]:
    """The normalised non-empty lines of ``text``; a blank line becomes ``""`` (runs collapsed)."""
    text = INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    out: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _SPACES.sub(" ", line).strip()
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


WORD = re.compile(r"\w+")


def text_key(text: str) -> str:
    return " ".join(WORD.findall(text.casefold()))
