"""slovnet's taggers (natasha's ``NewsNERTagger`` and ``NewsMorphTagger``) run on our own tokens.

The one module that reaches into slovnet's internals: its encoder's vocabularies, its model's
layers (navec's quantised word vectors, shape embeddings, three convolutions with batch norm, a
projection; the NER head's CRF transitions) and its tag decoder. :func:`scores` is slovnet's
arithmetic on the same weights, without its padding, masks and copies, and for many sequences in
one pass (the morph tagger's windows), the embeddings and the first convolution's products taken
once per distinct word; its scores agree with slovnet's to float rounding (the convolution's sums
are taken in another order), its tags are slovnet's.

slovnet, navec and razdel are pinned exactly in pyproject.toml for that reason; the contract tests
(``tests/test_contracts.py``) compare this module with slovnet's own forward pass and decoder.
**When they fail** (after an upgrade of slovnet or navec), fall back to natasha's own API, which
gives the same tags: ``nlp.ner_tagger(text)`` (``NewsNERTagger``: spans over razdel's tokens, the
BIO tags of :func:`ner_tags` read off them) and ``nlp.morph_tagger.map(windows)`` for
:func:`morph_tag_ids`/:func:`morph_tag` (``tests/test_contracts.py`` shows both calls) — slower,
the output the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    encode = _encoder(encoder)
    pad = _key(encoder, encoder.words_vocab.pad_id, encoder.shapes_vocab.pad_id)
    keys: list[int] = []
    bounds = []
    for words in sequences:
        if keys:
            keys.append(pad)
        start = len(keys)
        keys.extend(map(encode, words))
        bounds.append((start, len(keys)))
    row = np.array(keys, dtype=np.int64)
    margin = sum(layer.conv.padding for layer in model.encoder.layers)  # what a word's score reads
    blocks = []
    for lo in range(0, max(1, len(keys)), BLOCK):
        hi = min(len(keys), lo + BLOCK)
        a, b = max(0, lo - margin), min(len(keys), hi + margin)
        out = _forward(model, row[a:b], pad)
        blocks.append(out[lo - a : hi - a])
    out = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    return [out[start:stop] for start, stop in bounds]


BLOCK = 2048  # words per pass through the model


def _forward(model: Any, keys: np.ndarray, pad: int) -> np.ndarray:
    """The model's scores of one block of words, each given by its key (:func:`_key`; ``pad``:
    the zero columns between sequences). The embeddings and the first convolution's products
    are taken once per distinct key of the block and read for each of its words: an article
    repeats most of its words."""
    layers = model.encoder.layers
    shapes = model.emb.shape.weight.array
    distinct, inverse = np.unique(keys, return_inverse=True)
    word_ids, shape_ids = np.divmod(distinct, len(shapes))
    x = np.concatenate((_navec(model.emb.word, word_ids), shapes[shape_ids]), axis=1)
    x[distinct == pad] = 0
    x = _conv(layers[0].conv, x, inverse)
    gap = keys == pad
    for k, layer in enumerate(layers):
        if k:
            x = _conv(layer.conv, x)
        np.maximum(x, 0, out=x)  # ReLU
        norm = layer.norm  # batch norm, in place
        np.subtract(x, norm.mean.array, out=x)
        np.divide(x, norm.std.array, out=x)
        np.multiply(x, norm.weight.array, out=x)
        np.add(x, norm.bias.array, out=x)
        x[gap] = 0
    return model.head(x)


def _key(encoder: Any, word_id: int, shape_id: int) -> int:
    """A word's word id and shape id as one number."""
    return word_id * len(encoder.shapes_vocab) + shape_id


_ENCODERS: dict[int, Callable[[str], int]] = {}


def _encoder(encoder: Any) -> Callable[[str], int]:
    """The key (:func:`_key`) of a word as the encoder reads it — the word in lowercase, ё as
    е, and its shape (slovnet's ``TagInferEncoder``) — cached per word; one per encoder."""
    found = _ENCODERS.get(id(encoder))
    if found is None:
        words, shapes = encoder.words_vocab, encoder.shapes_vocab

        @lru_cache(maxsize=16384)
        def encode(word: str) -> int:
            word = yo_as_e(word)
            return _key(encoder, words.encode(word.lower()), shapes.encode(word_shape(word)))

        found = _ENCODERS[id(encoder)] = encode
    return found


def _navec(emb: Any, ids: np.ndarray) -> np.ndarray:
    """Navec's vectors of the word ``ids`` (its quantised codes looked up, as slovnet does)."""
    codes = emb.codes.array  # subvectors x centroids x dims
    subvectors, centroids, dims = codes.shape
    flat = emb.indexes.array[ids] + np.arange(subvectors) * centroids
    return codes.reshape(-1, dims).take(flat.ravel(), axis=0).reshape(len(ids), -1)


def _conv(conv: Any, x: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """slovnet's ``Conv1d`` on words x channels (zeros beyond the ends): the words times the
    filters' weights at every offset of their width in one product, and output i the sum over the
    offsets k of word i + k - padding's product at k — no matrix of every word's window. With
    ``rows``, ``x`` holds distinct words and word i of the sequence is ``x[rows[i]]``: the
    products are taken for the distinct words and read for the sequence."""
    filters, _, width = conv.weight.shape
    products = x @ _offset_weights(conv)  # words x (width x filters)
    if rows is not None:
        products = products[rows]
    length = len(products)
    size = length + 2 * conv.padding - width + 1
    out = np.zeros((size, filters), dtype=x.dtype)
    for k in range(width):
        shift = k - conv.padding  # output i reads word i + shift at offset k
        lo, hi = max(0, -shift), min(size, length - shift)
        out[lo:hi] += products[lo + shift : hi + shift, k * filters : (k + 1) * filters]
    out += conv.bias.array
    return out


_OFFSET_WEIGHTS: dict[int, np.ndarray] = {}


def _offset_weights(conv: Any) -> np.ndarray:
    """The filters' weights at each offset side by side, channels x (width x filters), computed
    once per model."""
    key = id(conv.weight.array)
    if key not in _OFFSET_WEIGHTS:
        weight = conv.weight.array  # filters x channels x width
        _OFFSET_WEIGHTS[key] = np.ascontiguousarray(
            np.concatenate([weight[:, :, k].T for k in range(weight.shape[2])], axis=1)
        )
    return _OFFSET_WEIGHTS[key]


def viterbi(emissions: np.ndarray, transitions: np.ndarray) -> list[int]:
    """The CRF's best tag sequence for one text (slovnet's decoder, for a batch of one). Only the
    best scores are carried step by step; the best previous tag of every step is read off them
    afterwards in one pass (the same sums, so the same choices)."""
    steps = len(emissions)
    best = np.empty_like(emissions)  # the best score of a path ending in each tag, per step
    score = best[0] = emissions[0]
    for i in range(1, steps):
        score = best[i] = (score[:, None] + transitions).max(0) + emissions[i]
    back = (best[:-1, :, None] + transitions).argmax(1).tolist()
    path = [int(score.argmax())]
    for i in range(steps - 2, -1, -1):
        path.append(back[i][path[-1]])
    return path[::-1]
