"""Contract tests: the stage's own passes over razdel's and slovnet's internals
(``worker.text.token_bounds``, ``worker.entities.tagger``) give what the libraries' public calls
give, on the versions pinned in pyproject.toml. When one fails after an upgrade, the module's
docstring says what to fall back to (razdel's ``tokenize``, natasha's ``NewsNERTagger`` and
``NewsMorphTagger.map``, the calls these tests make)."""

from __future__ import annotations

import json
import re
from importlib.metadata import version

import numpy as np
import pytest
from conftest import ROOT, SAMPLE, SHARED
from razdel import tokenize

from worker.entities import spans, tagger
from worker.nlp import load_nlp
from worker.text import token_bounds, tokens


@pytest.fixture(scope="module")
def body() -> str:
    raw = SAMPLE.read_text(encoding="utf-8")
    start = raw.index("Президенты России и США Владимир Путин")
    return raw[start : raw.index("Новости и материалы")].strip()


def test_contract_the_libraries_reached_into_are_the_pinned_versions() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    pins = dict(re.findall(r'^\s*"([\w-]+)==([\w.]+)",', pyproject, re.MULTILINE))
    for name in ("razdel", "slovnet", "navec"):
        assert version(name) == pins[name], name


def test_contract_tokens_are_razdels(body: str) -> None:
    tricky = (
        "кто-то a -b 1.5 3/4 т.е. yahoo! :-) ...?! -- ΔP mβж «Живи!» 5-й a_b О’Рейли (ФАС),"
        " 5, 5. .5 ,5 2,5 x/y 1\\2 слово. (5) -5 5- 5_ _5 Yahoo! !5 x! 5%. №5 ‑то 5−7"
    )
    factru = (SHARED / "eval/ner/factru.jsonl").read_text(encoding="utf-8").splitlines()
    news = [json.loads(line)["text"] for line in factru if line.strip()]
    for text in (body, tricky, "", " ", *news):
        assert [(t.start, t.stop) for t in tokenize(text)] == list(token_bounds(text))


def test_contract_tagger_scores_are_slovnets(body: str) -> None:
    """NER's scores for a text are slovnet's to float rounding and decode to slovnet's tags, also
    when the text is longer than a block of the forward pass; the morph tagger's for windows run
    side by side pick the tags slovnet picks running them in a batch. Both read ё as е."""
    nlp = load_nlp()
    raw = [t.text for t in tokens("\n".join([body] * 7) + " Её ещё ждёт Пётр Алёхин.")]
    words = [word.replace("ё", "е") for word in raw]
    infer = nlp.ner_tagger.infer
    (batch,) = infer.encoder([words])
    (ours,) = tagger.scores(nlp.ner_tagger, [raw])
    theirs = infer.model(batch.word_id, batch.shape_id, batch.pad_mask)[0]
    assert ours.shape == theirs.shape
    assert np.allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    transitions = infer.model.head.crf.transitions.array
    (best,) = infer.model.head.crf.decode(theirs[None], ~batch.pad_mask)
    assert tagger.viterbi(ours, transitions) == best.tolist()
    assert len(raw) > 2 * tagger.BLOCK  # the sample is read in several blocks
    starts = range(0, len(words) - 8, 3)
    windows = [raw[i : i + 3 + i % 5] for i in starts]
    batched = nlp.morph_tagger.map([words[i : i + 3 + i % 5] for i in starts])
    theirs = [[(t.pos, t.feats) for t in markup.tokens] for markup in batched]
    ids = tagger.morph_tag_ids(nlp.morph_tagger, windows)
    assert [[tagger.morph_tag(nlp.morph_tagger, k) for k in s] for s in ids] == theirs


def test_contract_ner_tags_are_natashas(body: str) -> None:
    """Our forward pass and CRF decoding tag what ``NewsNERTagger`` tags on the same tokens."""
    nlp = load_nlp()
    for text in (body, "Путин поручил Медведеву и ООН заняться Арктикой в Москве."):
        found = list(tokenize(text))
        tags = tagger.ner_tags(nlp.ner_tagger, [t.text for t in found])
        ours = [(found[s.start].start, found[s.stop - 1].stop, s.type) for s in spans.decode(tags)]
        theirs = [(s.start, s.stop, s.type) for s in nlp.ner_tagger(text).spans]
        assert ours == theirs
        assert ours
