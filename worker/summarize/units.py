"""The units a summary is made of: the article's sentences (``worker.text.sentences``), a
dateline razdel left at the start of one cut off, and which of them are prose."""

from __future__ import annotations

import re

from worker.text import ENDS_SENTENCE, MONTH_ABBREVIATIONS, Sentence, sentences

# "МОСКВА, 1 дек — РИА Новости." / "МОСКВА, 2 мая." — a news agency's dateline, not prose.
DATELINE = re.compile(
    r"\W*[^\W\d][\w .-]{0,40},\s*\d{1,2}\s+"
    rf"(?:{MONTH_ABBREVIATIONS})[а-я]*\.?(\s*[—–-][^.]*)?\.",
    re.IGNORECASE,
)


def split(text: str) -> list[Sentence]:
    """The sentences of ``text`` (``worker.text.sentences``), with offsets into ``text``; a
    dateline that razdel left at the start of a sentence (before a lowercase word) is cut off."""
    out: list[Sentence] = []
    for sent in sentences(text):
        dateline = DATELINE.match(sent.text)
        cut = dateline.end() if dateline else 0
        rest = sent.text[cut:]
        if not (cut and rest[:1].isspace() and rest.strip()):
            out.append(sent)
            continue
        start = sent.stop - len(rest.lstrip())
        out.append(Sentence(sent.start, sent.start + cut, sent.text[:cut]))
        out.append(Sentence(start, sent.stop, text[start : sent.stop]))
    return out


def is_prose(sentence: Sentence) -> bool:
    """A sentence of the article proper: it ends as a sentence does and is not a dateline.

    Headings, captions, menus and link lists (site chrome) end without a full stop."""
    text = sentence.text.strip()
    return bool(ENDS_SENTENCE.search(text)) and not DATELINE.fullmatch(text)
