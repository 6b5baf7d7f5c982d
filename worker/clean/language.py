"""The language of a text, guessed from its letters."""

from __future__ import annotations

import re

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
