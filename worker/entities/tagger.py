"""slovnet's taggers (natasha's ``NewsNERTagger`` and ``NewsMorphTagger``) run on our own tokens.

The one module that reaches into slovnet's internals: its encoder's vocabularies, its model's
layers (navec's quantised word vectors, shape embeddings, three convolutions with batch norm, a
projection; the NER head's CRF transitions) and its tag decoder. :func:`scores` is slovnet's
arithmetic on the same weights, without its padding, masks and copies, and for many sequences in
one pass (the morph tagger's windows); its scores agree with slovnet's to float rounding (the
convolution's sums are taken in another order), its tags are slovnet's.

slovnet, navec and razdel are pinned exactly in pyproject.toml for that reason; the contract tests
(``tests/test_contracts.py``) compare this module with slovnet's own forward pass and decoder.
**When they fail** (after an upgrade of slovnet or navec), fall back to natasha's own API, which
gives the same tags: ``nlp.ner_tagger(text)`` (``NewsNERTagger``: spans over razdel's tokens, the
BIO tags of :func:`ner_tags` read off them) and ``nlp.morph_tagger.map(windows)`` for
:func:`morph_tag_ids`/:func:`morph_tag` (``tests/test_contracts.py`` shows both calls) — slower,
the output the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from slovnet.conll import parse_conll_tag
from slovnet.shape import word_shape

from worker.text import yo_as_e


def ner_tags(tagger: Any, words: Sequence[str]) -> list[str]:
    """The NER model's BIO tags of ``words`` (its CRF's best sequence)."""
    if not words:
        return []
    (emissions,) = scores(tagger, [words])
    ids = viterbi(emissions, tagger.infer.model.head.crf.transitions.array)
    decode = tagger.infer.decoder.tags_vocab.decode
    return [decode(i) for i in ids]


def morph_tag_ids(tagger: Any, sequences: Sequence[Sequence[str]]) -> list[list[int]]:
    """The morph tagger's best tag (an id, see :func:`morph_tag`) of every word of each
    sequence, the sequences tagged side by side in one pass."""
    return [s.argmax(-1).tolist() for s in scores(tagger, sequences)]


def morph_tag(tagger: Any, tag_id: int) -> tuple[str, dict[str, str]]:
    """(part of speech, features) of a morph tag id."""
    return parse_conll_tag(tagger.infer.decoder.tags_vocab.decode(tag_id))


def scores(tagger: Any, sequences: Sequence[Sequence[str]]) -> list[np.ndarray]:
    """A slovnet tagger's scores (NER's, the morph tagger's: word and shape embeddings, three
    convolutions, a projection) for every word of each sequence; slovnet's arithmetic, the work
    done once for all the sequences and with fewer copies. The sequences stand in one row, a zero
    column between each two: what slovnet's padding and masking give each alone. The row goes
    through the model in blocks of ``BLOCK`` words, each with the words either side that its
    convolutions read: a long article costs no more memory than a short one."""
    if not sequences:
        return []
    model, encoder = tagger.infer.model, tagger.infer.encoder
    word_id, shape_id = encoder.words_vocab.encode, encoder.shapes_vocab.encode
    word_ids: list[int] = []
    shape_ids: list[int] = []
    bounds = []
    for words in sequences:
        if word_ids:
            word_ids.append(encoder.words_vocab.pad_id)
            shape_ids.append(encoder.shapes_vocab.pad_id)
        start = len(word_ids)
        features = [_features(word) for word in words]
        word_ids += [word_id(key) for key, _ in features]
        shape_ids += [shape_id(shape) for _, shape in features]
        bounds.append((start, len(word_ids)))
    gap = np.zeros(len(word_ids), dtype=bool)
    gap[[stop for _, stop in bounds[:-1]]] = True
    margin = sum(layer.conv.padding for layer in model.encoder.layers)  # what a word's score reads
    blocks = []
    for lo in range(0, max(1, len(word_ids)), BLOCK):
        hi = min(len(word_ids), lo + BLOCK)
        a, b = max(0, lo - margin), min(len(word_ids), hi + margin)
        out = _forward(model, word_ids[a:b], shape_ids[a:b], gap[a:b])
        blocks.append(out[lo - a : hi - a])
    out = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    return [out[start:stop] for start, stop in bounds]


BLOCK = 2048  # words per pass through the model


def _forward(model: Any, word_ids: list[int], shape_ids: list[int], gap: np.ndarray) -> np.ndarray:
    """The model's scores of one block of words (``gap``: the zero columns between sequences)."""
    x = np.concatenate(
        (_navec(model.emb.word, word_ids), model.emb.shape.weight.array[shape_ids]), axis=1
    )
    x[gap] = 0
    for layer in model.encoder.layers:
        x = _conv(layer.conv, x)
        np.maximum(x, 0, out=x)  # ReLU
        norm = layer.norm  # batch norm, in place
        np.subtract(x, norm.mean.array, out=x)
        np.divide(x, norm.std.array, out=x)
        np.multiply(x, norm.weight.array, out=x)
        np.add(x, norm.bias.array, out=x)
        x[gap] = 0
    return model.head(x)


@lru_cache(maxsize=16384)
def _features(word: str) -> tuple[str, str]:
    """What the tagger reads of a word: the word in lowercase (ё as е) and its shape."""
    word = yo_as_e(word)
    return word.lower(), word_shape(word)


def _navec(emb: Any, ids: list[int]) -> np.ndarray:
    """Navec's vectors of the word ``ids`` (its quantised codes looked up, as slovnet does)."""
    codes = emb.codes.array  # subvectors x centroids x dims
    subvectors, centroids, dims = codes.shape
    flat = emb.indexes.array[ids] + np.arange(subvectors) * centroids
    return codes.reshape(-1, dims).take(flat.ravel(), axis=0).reshape(len(ids), -1)


def _conv(conv: Any, x: np.ndarray) -> np.ndarray:
    """slovnet's ``Conv1d`` on words x channels (zeros beyond the ends): for each offset in the
    filters' width, the words shifted by it times the filters' weights at that offset, summed —
    three products of the words' own matrix, no matrix of every word's window."""
    filters, _, width = conv.weight.shape
    size = len(x) + 2 * conv.padding - width + 1
    out = np.zeros((size, filters), dtype=x.dtype)
    for k, weight in enumerate(_offset_weights(conv)):
        shift = k - conv.padding  # output i reads word i + shift at offset k
        lo, hi = max(0, -shift), min(size, len(x) - shift)
        out[lo:hi] += x[lo + shift : hi + shift] @ weight
    out += conv.bias.array
    return out


_OFFSET_WEIGHTS: dict[int, list[np.ndarray]] = {}


def _offset_weights(conv: Any) -> list[np.ndarray]:
    """The filters' weights at each offset, channels x filters (computed once per model)."""
    key = id(conv.weight.array)
    if key not in _OFFSET_WEIGHTS:
        weight = conv.weight.array  # filters x channels x width
        _OFFSET_WEIGHTS[key] = [
            np.ascontiguousarray(weight[:, :, k].T) for k in range(weight.shape[2])
        ]
    return _OFFSET_WEIGHTS[key]


def viterbi(emissions: np.ndarray, transitions: np.ndarray) -> list[int]:
    """The CRF's best tag sequence for one text (slovnet's decoder, for a batch of one)."""
    steps, tags = emissions.shape
    columns = np.arange(tags)
    score = emissions[0]
    back = np.zeros((steps, tags), dtype=np.int64)
    for i in range(1, steps):
        total = score[:, None] + transitions
        back[i] = total.argmax(0)
        score = total[back[i], columns] + emissions[i]
    best = [int(score.argmax())]
    for i in range(steps - 1, 0, -1):
        best.append(int(back[i, best[-1]]))
    return best[::-1]
