"""Facts near their cues: yargy's extractors (natasha's dates and money, slow) run only on the
stretches of text around a word that can start a fact ("ноября", "руб"), and of each only what a
match can span.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from typing import Any

DIGIT = re.compile(r"\d")


def near_cues(
    text: str,
    cue: re.Pattern,
    extractor: Any,
    before: int,
    after: int,
    *,
    lead: int,
    tail: int | None,
) -> Iterator[tuple[int, int, Any]]:
    """(start, stop, fact) of the extractor's matches; it (yargy, slow) reads only the stretches
    from ``before`` words left of a cue to ``after`` words right of it, and of each only what a
    match can span: every date and every sum has a number, and a match starts at most ``lead``
    words before the first word with a digit and ends at most ``tail`` words after the last.
    yargy reads token by token, none across a space: cutting off words no match reaches changes
    nothing."""
    for lo, hi in _stretches(text, cue, before, after, lead, tail):
        for match in extractor(text[lo:hi]):
            yield lo + match.start, lo + match.stop, match.fact


def _stretches(
    text: str, cue: re.Pattern, before: int, after: int, lead: int, tail: int | None
) -> list[tuple[int, int]]:
    at = [match.start() for match in cue.finditer(text)]
    if not at:
        return []
    words = [match.span() for match in re.finditer(r"\S+", text)]
    starts = [start for start, _ in words]
    ranges: list[list[int]] = []  # word index ranges, overlapping ones merged
    for offset in at:
        k = bisect_right(starts, offset) - 1
        lo, hi = max(0, k - before), min(len(words) - 1, k + after)
        if ranges and lo <= ranges[-1][1]:
            ranges[-1][1] = max(hi, ranges[-1][1])
        else:
            ranges.append([lo, hi])
    out = []
    for lo, hi in ranges:
        numbers = [k for k in range(lo, hi + 1) if DIGIT.search(text, *words[k])]
        if numbers:
            last = hi if tail is None else min(hi, numbers[-1] + tail)
            out.append((words[max(lo, numbers[0] - lead)][0], words[last][1]))
    return out
