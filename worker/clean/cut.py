"""What cleaning cut: the page's lines that did not make the clean text, kept with the article
(``Clean.chrome``) so that a reader can see them where they stood (the article page's toggle)."""

from __future__ import annotations

from worker.clean.normalize import normalize
from worker.schema import CutLine

CUT_LINES = 500  # at most so many cut lines are kept with an article


def cut_lines(lines: list[str], text: str, headings: tuple[str | None, ...] = ()) -> list[CutLine]:
    """The page's ``lines`` (normalised, as :mod:`~worker.clean.html` and
    :func:`~worker.clean.normalize.split_lines` give them) that are neither a paragraph of the
    clean ``text`` nor one of its ``headings``: what cleaning cut, each at the offset of the
    paragraph it stood before."""
    offsets: dict[str, list[int]] = {}
    pos = 0
    for paragraph in text.split("\n\n"):
        offsets.setdefault(paragraph, []).append(pos)
        pos += len(paragraph) + 2
    kept_headings = {normalize(h) for h in headings if h}
    out: list[CutLine] = []
    cursor = 0
    for line in lines:
        line = line.strip()
        if not line:
            continue
        found = offsets.get(line)
        at = next((o for o in found if o >= cursor), None) if found else None
        if at is not None:
            cursor = at + len(line)
        elif line not in kept_headings:
            out.append(CutLine(at=min(cursor + 2 if cursor else 0, len(text)), text=line))
            if len(out) >= CUT_LINES:
                break
    return out
