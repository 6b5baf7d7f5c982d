"""How submitted articles are grouped into batches (one chain of tasks per batch)."""

from __future__ import annotations

import pytest

from worker.delivery.chain import batches
from worker.delivery.protocol import Ref


@pytest.mark.parametrize(
    ("n", "size", "sizes"),
    [
        (0, 8, []),
        (1, 8, [1]),
        (8, 8, [8]),
        (9, 8, [5, 4]),
        (20, 16, [10, 10]),
        (300, 8, [8] * 37 + [4]),
    ],
)
def test_batches_are_as_few_and_as_even_as_the_size_allows(n, size, sizes):
    refs = [Ref(f"a{i}", "json", "1") for i in range(n)]
    got = batches(refs, size)
    assert [len(b) for b in got] == sizes
    assert [ref for batch in got for ref in batch] == refs  # all of them, in order
