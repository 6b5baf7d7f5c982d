"""Offline evaluations of the pipeline stages against the shared reference data."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def counted(items: Sequence[T], show: bool) -> Iterator[T]:
    """Yield the items, counting them on stderr (``12/130``) when ``show``."""
    for i, item in enumerate(items, 1):
        yield item
        if show:
            print(f"\r{i}/{len(items)}", end="", file=sys.stderr, flush=True)
    if show:
        print(file=sys.stderr)
