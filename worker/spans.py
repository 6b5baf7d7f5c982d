"""Entity spans: natasha's NER model run on our own tokens, then its systematic errors repaired.

The model (slovnet's CNN-CRF behind ``NewsNERTagger``) is run on the tokens the rest of the stage
uses, so the text is tokenised once, by our own forward pass over its weights (``scores``:
slovnet's arithmetic and its scores to the bit, without its padding and copies; the morph tagger's
windows go through it too, in one pass). Its output is then corrected by rules, each aimed at an
error class measured on factRuEval (``worker.evaluate.ner``; the gain of each is in the issue's
closing note):

- the first word of a text has no left context and is almost never tagged (the model tags nothing
  in "Путин поручил…"): the model gets a colon before it, as after a lead-in ("Москва:");
- a span never runs across a sentence or a line, nor across list separators ("Чили • Перу");
- a name followed by another in brackets is two spans ("ФАС (Federal Antimonopoly Service)",
  "Скотт Хоровитц (Scott Horowitz)");
- a company's legal form and quotes are not part of its name: "ОАО «Газпром»" → "Газпром";
- punctuation at a span's edges that nothing inside it balances is cut off;
- abbreviations of common nouns ("СМИ") are no names, nor is a lone common word that has a
  capital only because it opens a sentence ("Супруга", "Власть");
- a name tagged once is tagged wherever else the text spells it the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
from natasha import MorphVocab
from slovnet.shape import word_shape

from worker.gazetteer import LEGAL_FORMS, NOT_NAMES
from worker.models import Models, get_models

QUOTES = {"«", '"', "„", "“"}
OPENING = {*QUOTES, "("}
CLOSING = {"»", '"', "“", "”", ")"}
SEPARATORS = {"•", "·", "|", ";", ",", ":", "?", "[", "]"}
WORD = re.compile(r"\w")
LATIN = re.compile(r"[A-Za-z]")
PROPER = {"Name", "Surn", "Patr", "Geox", "Orgn", "Trad", "Abbr", "Init"}  # pymorphy grammemes


class Token(NamedTuple):  # a tuple: an article has hundreds, made fast
    start: int  # offsets into the text
    stop: int
    text: str
    sent: int  # index of its sentence


@dataclass(frozen=True)
class Span:
    start: int  # index of the first token
    stop: int  # index after the last token
    type: str


Repair = Callable[[list[Token], list[Span]], list[Span]]


def find(tokens: list[Token], models: Models) -> list[Span]:
    """The PER, LOC and ORG spans among ``tokens``, repaired."""
    spans = _decode(_tag(tokens, models))
    for repair in REPAIRS:
        spans = repair(tokens, spans)
    return spans


def fold(text: str) -> str:
    """The form used to compare names: lowercase, ё as е."""
    return text.lower().replace("ё", "е")


# --- the model --------------------------------------------------------------------------------


def _tag(tokens: list[Token], models: Models) -> list[str]:
    """BIO tags of ``tokens``; the model sees a colon before the first one."""
    if not tokens:
        return []
    tagger = models.ner_tagger
    (emissions,) = scores(tagger, [[":", *(token.text for token in tokens)]])
    ids = _viterbi(emissions, tagger.infer.model.head.crf.transitions.array)
    return [tagger.infer.decoder.tags_vocab.decode(i) for i in ids[1:]]


def scores(tagger: Any, sequences: Sequence[Sequence[str]]) -> list[np.ndarray]:
    """A slovnet tagger's scores (NER's, the morph tagger's: word and shape embeddings, three
    convolutions, a projection) for every word of each sequence; the arithmetic is slovnet's, the
    work done once for all the sequences and with fewer copies. The sequences stand in one row, a
    zero column between each two: what slovnet's padding and masking give each alone."""
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
    gaps = [stop for _, stop in bounds[:-1]]
    x = np.concatenate(
        (_navec(model.emb.word, word_ids), model.emb.shape.weight.array[shape_ids]), axis=1
    )
    x[gaps] = 0
    for layer in model.encoder.layers:
        x = _conv(layer.conv, x)
        np.maximum(x, 0, out=x)  # ReLU
        norm = layer.norm  # batch norm, in place
        np.subtract(x, norm.mean.array, out=x)
        np.divide(x, norm.std.array, out=x)
        np.multiply(x, norm.weight.array, out=x)
        np.add(x, norm.bias.array, out=x)
        x[gaps] = 0
    out = model.head(x)
    return [out[start:stop] for start, stop in bounds]


@lru_cache(maxsize=16384)
def _features(word: str) -> tuple[str, str]:
    """What the tagger reads of a word: the word in lowercase (ё as е) and its shape."""
    word = word.replace("ё", "е").replace("Ё", "Е")
    return word.lower(), word_shape(word)


def _navec(emb: Any, ids: list[int]) -> np.ndarray:
    """Navec's vectors of the word ``ids`` (its quantised codes looked up, as slovnet does)."""
    codes = emb.codes.array  # subvectors x centroids x dims
    subvectors, centroids, dims = codes.shape
    flat = emb.indexes.array[ids] + np.arange(subvectors) * centroids
    return codes.reshape(-1, dims).take(flat.ravel(), axis=0).reshape(len(ids), -1)


def _conv(conv: Any, x: np.ndarray) -> np.ndarray:
    """slovnet's ``Conv1d`` on words x channels: each word's window (channels x width, the order
    of the filters' weights; zeros beyond the ends) times the filters."""
    filters, channels, width = conv.weight.shape
    size = len(x) + 2 * conv.padding - width + 1
    windows = np.zeros((size, channels, width), dtype=x.dtype)
    for k in range(width):
        shift = k - conv.padding  # window i holds word i + shift at k
        lo, hi = max(0, -shift), min(size, len(x) - shift)
        windows[lo:hi, :, k] = x[lo + shift : hi + shift]
    weight = conv.weight.array.reshape(filters, channels * width)
    out = np.matmul(windows.reshape(size, -1), weight.T)
    out += conv.bias.array
    return out


def _viterbi(emissions: np.ndarray, transitions: np.ndarray) -> list[int]:
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


def _decode(tags: list[str]) -> list[Span]:
    spans: list[Span] = []
    start, type_ = 0, None
    for i, tag in enumerate([*tags, "O"]):
        if type_ and not tag.startswith("I-"):
            spans.append(Span(start, i, type_))
            type_ = None
        if tag.startswith("B-"):
            start, type_ = i, tag[2:]
    return spans


# --- repairs ----------------------------------------------------------------------------------


def split_at_breaks(tokens: list[Token], spans: list[Span]) -> list[Span]:
    """No span crosses a sentence end, a line break or a list separator."""
    out = []
    for span in spans:
        start = span.start
        for i in range(span.start, span.stop):
            if tokens[i].text in SEPARATORS:
                out.append(replace(span, start=start, stop=i))
                start = i + 1
            elif i > start and tokens[i].sent != tokens[i - 1].sent:
                out.append(replace(span, start=start, stop=i))
                start = i
        out.append(replace(span, start=start))
    return [span for span in out if span.stop > span.start]


def split_parentheses(tokens: list[Token], spans: list[Span]) -> list[Span]:
    """A name and another in brackets after it are two spans: what stands before the bracket and
    what it holds."""
    out = []
    for span in spans:
        start = span.start
        for i in range(span.start, span.stop):
            if tokens[i].text in "()":
                out.append(replace(span, start=start, stop=i))
                start = i + 1
        out.append(replace(span, start=start))
    return [span for span in out if span.stop > span.start]


def drop_legal_forms(tokens: list[Token], spans: list[Span]) -> list[Span]:
    """An ORG's name is what the quotes after its legal form or kind ("ОАО", "концерн", "газета")
    hold: "ОАО «НК „Роснефть“»" → "Роснефть"."""
    out = []
    for span in spans:
        start = span.start
        if span.type == "ORG":
            i = start
            while i < span.stop - 1 and fold(tokens[i].text) in LEGAL_FORMS:
                i += 1
                if tokens[i].text in QUOTES and i < span.stop - 1:
                    i += 1
                    start = i
                elif LATIN.match(tokens[i].text):  # "Корпорация Philips"
                    start = i
        out.append(replace(span, start=start))
    return out


def trim_punctuation(tokens: list[Token], spans: list[Span]) -> list[Span]:
    """Cut punctuation at the edges of a span unless it closes a bracket or quote inside it."""
    out = []
    for span in spans:
        start, stop = span.start, span.stop
        while start < stop and not WORD.search(tokens[start].text):
            start += 1
        while start < stop and not WORD.search(tokens[stop - 1].text):
            if tokens[stop - 1].text in CLOSING and _opened(tokens[start : stop - 1]):
                break
            if tokens[stop - 1].text in "!?" and _quoted(tokens, start, stop):
                break  # «Живи!»
            stop -= 1
        if stop > start:
            out.append(replace(span, start=start, stop=stop))
    return out


def _quoted(tokens: list[Token], start: int, stop: int) -> bool:
    """Do quotes stand right before and after tokens[start:stop]?"""
    return (
        start > 0
        and stop < len(tokens)
        and tokens[start - 1].text in OPENING
        and tokens[stop].text in CLOSING
    )


def _opened(tokens: list[Token]) -> bool:
    depth = 0
    for token in tokens:
        if token.text in OPENING and not (token.text == '"' and depth):
            depth += 1
        elif token.text in CLOSING and depth:
            depth -= 1
    return depth > 0


def drop_common_nouns(tokens: list[Token], spans: list[Span]) -> list[Span]:
    """Abbreviations of common nouns ("СМИ") are no names."""
    return [
        span
        for span in spans
        if fold(" ".join(token.text for token in tokens[span.start : span.stop])) not in NOT_NAMES
    ]


def drop_sentence_initial_words(tokens: list[Token], spans: list[Span]) -> list[Span]:
    """A capital letter at a sentence start is no evidence of a name: a lone word there that the
    dictionary knows only as a common word ("Супруга", "Власть") is dropped, unless the text
    also has it tagged where a capital letter means something."""
    vocab = get_models().morph_vocab
    inside = {tokens[s.start].text for s in spans if not _sentence_initial(tokens, s.start)}
    return [
        span
        for span in spans
        if span.stop - span.start > 1
        or not _sentence_initial(tokens, span.start)
        or tokens[span.start].text in inside
        or not _common_word(tokens[span.start].text, vocab)
    ]


def _sentence_initial(tokens: list[Token], i: int) -> bool:
    return i == 0 or tokens[i - 1].sent != tokens[i].sent


def _common_word(word: str, vocab: MorphVocab) -> bool:
    return vocab.word_is_known(word) and not any(
        PROPER & parse.tag.grammemes for parse in vocab.parse(word)
    )


def propagate(tokens: list[Token], spans: list[Span]) -> list[Span]:
    """A capitalised name the model tagged once is tagged where else it stands, spelt the same,
    untagged (the model's decisions vary with context; a name in a text keeps its type)."""
    names: dict[str, dict[tuple[str, ...], str]] = {}  # by first word
    for span in spans:
        words = tuple(token.text for token in tokens[span.start : span.stop])
        if words[0][:1].isupper() and not _sentence_initial(tokens, span.start):
            names.setdefault(words[0], {}).setdefault(words, span.type)
    covered = {i for span in spans for i in range(span.start, span.stop)}
    out = list(spans)
    for i, token in enumerate(tokens):
        for words, type_ in names.get(token.text, {}).items():
            stop = i + len(words)
            here = tuple(t.text for t in tokens[i:stop])
            if here == words and covered.isdisjoint(range(i, stop)):
                out.append(Span(i, stop, type_))
                covered.update(range(i, stop))
    return sorted(out, key=lambda span: span.start)


REPAIRS: tuple[Repair, ...] = (
    split_at_breaks,
    split_parentheses,
    drop_legal_forms,
    trim_punctuation,
    drop_common_nouns,
    drop_sentence_initial_words,
    propagate,
)
