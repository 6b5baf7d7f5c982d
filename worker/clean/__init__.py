"""The clean stage: from a submitted page or scraped text to the article's main text.

Both inputs become a sequence of lines that one classifier reads: prose lines score their length,
everything else costs (section markers such as "Читайте также" and legal footers most), and the
body is the first high-scoring stretch; the title and subtitle are the headline-like lines right
above it. No Celery, no Redis: plain functions.

One concern a module:

- :mod:`~worker.clean.normalize` — NFC, invisible characters, spaces, blank lines; line keys.
- :mod:`~worker.clean.patterns` — what chrome looks like (markers, buttons, credits, footers).
- :mod:`~worker.clean.lines` — the line classifier (prose, chrome, boundary, listed, meta, link).
- :mod:`~worker.clean.body` — the body search over the classified lines.
- :mod:`~worker.clean.html` — HTML walking: one line per block element, link shares, blocks.
- :mod:`~worker.clean.titles`, :mod:`~worker.clean.authors`, :mod:`~worker.clean.dates`,
  :mod:`~worker.clean.metadata` — what the page says of itself.
- :mod:`~worker.clean.chrome` — per-source chrome learned from the lines a source repeats.
- :mod:`~worker.clean.stage` — the stage's entry points (:func:`clean`, :func:`clean_page`).
"""

from worker.clean.normalize import normalize
from worker.clean.stage import clean, clean_html, clean_page, clean_text, warm_up
from worker.text import detect_language

__all__ = [
    "clean",
    "clean_html",
    "clean_page",
    "clean_text",
    "detect_language",
    "normalize",
    "warm_up",
]
