"""The article page's highlighting as a plain function over a record (no server, no browser)."""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from tests.conftest import SAMPLE
from worker.ui.article import render


def href(kind: str, normal: str) -> str:
    return f"/ui/entities/{kind}/{quote(normal, safe='')}"


def _record(text: str, entities=(), dates=(), money=(), sentences=(), chrome=()) -> dict:
    return {
        "text": text,
        "entities": list(entities),
        "dates": list(dates),
        "money": list(money),
        "summary": {"sentences": list(sentences)},
        "chrome": list(chrome),
    }


def _parse(view) -> list:
    """Each paragraph as XML: well-formed, or this fails."""
    return [etree.fromstring(f"<p>{p.html}</p>") for p in view.paragraphs]


def _text(el) -> str:
    return "".join(el.itertext())


def _marks_text(trees) -> dict[str, str]:
    """data-m → the text of all its pieces, in document order."""
    pieces: dict[str, str] = defaultdict(str)
    for tree in trees:
        for el in tree.iter():
            if el.get("data-m") is not None:
                pieces[el.get("data-m")] += _text(el)
    return pieces


def _expected(record: dict) -> list[str]:
    text = record["text"]
    spans = [m for e in record["entities"] for m in e["mentions"]]
    spans += record["dates"] + record["money"]
    return sorted(text[s["start"] : s["stop"]] for s in spans)


def test_every_mention_of_a_processed_record_is_one_mark(settings) -> None:
    from worker.pipeline import process

    record = process("sample", "text", SAMPLE.read_bytes(), settings).model_dump(mode="json")
    view = render(record, href)
    trees = _parse(view)
    marks = _marks_text(trees)
    expected = _expected(record)
    assert len(marks) == view.mentions == len(expected) > 20
    assert sorted(marks.values()) == expected
    # no text lost or added: the paragraphs read as the record's text
    assert "\n\n".join(_text(t) for t in trees) == record["text"]
    # each summary sentence marked, anchored once
    for n, sentence in view.summary:
        got = "".join(_text(el) for t in trees for el in t.iter() if el.get("data-s") == str(n))
        assert got == sentence
        assert sum(1 for t in trees for el in t.iter() if el.get("id") == f"s{n}") == 1
    # entity marks link to their entity's page and carry the normal form
    links = [el for t in trees for el in t.iter("a")]
    assert {el.get("href") for el in links} == {
        href(e["type"], e["normal"]) for e in record["entities"]
    }
    assert all(el.get("data-tip").split(": ", 1)[1] for el in links)
    assert view.entities[0].salience == max(e["salience"] for e in record["entities"])


def test_overlapping_marks_nest_or_split_and_stay_countable() -> None:
    text = "ПАО «Газпром» 1 мая 2020 года выплатит 5 млрд рублей.\n\nВторой абзац."
    org = {"type": "ORG", "normal": "Газпром", "count": 1, "salience": 1.0}
    org["mentions"] = [{"start": 0, "stop": 24, "text": text[0:24]}]  # crosses the date's end
    date = {"start": 14, "stop": 29, "text": text[14:29], "value": "2020-05-01"}
    money = {"start": 39, "stop": 52, "text": text[39:52], "amount": 5e9, "currency": "RUB"}
    sentence = {"start": 0, "stop": 53, "text": text[0:53]}
    record = _record(text, [org], [date], [money], [sentence])
    view = render(record, href)
    trees = _parse(view)
    marks = _marks_text(trees)
    assert sorted(marks.values()) == _expected(record)
    assert view.counts["ORG"] == view.counts["DATE"] == view.counts["MONEY"] == 1
    assert "5\u00a0000\u00a0000\u00a0000\u00a0₽" in str(view.paragraphs[0].html)
    assert len(view.paragraphs) == 2


def test_cut_lines_sit_before_the_paragraph_they_preceded() -> None:
    text = "Первый абзац.\n\nВторой абзац."
    chrome = [
        {"at": 0, "text": "Меню"},
        {"at": 15, "text": "Реклама"},
        {"at": len(text), "text": "Все новости"},
    ]
    view = render(_record(text, chrome=chrome), href)
    assert [p.cut_before for p in view.paragraphs] == [["Меню"], ["Реклама"]]
    assert view.cut_after == ["Все новости"]
    assert view.cut_lines == 3


@st.composite
def _records(draw):
    words = draw(st.lists(st.sampled_from(["а", "Бб", "<в&>", " ", "\n\n", "г\n"]), min_size=1))
    text = "".join(words)
    n = len(text)

    def spans(k):
        out = []
        for _ in range(draw(st.integers(0, k))):
            a = draw(st.integers(0, n - 1))
            b = draw(st.integers(a + 1, n))
            out.append({"start": a, "stop": b, "text": text[a:b]})
        return out

    entities = [
        {"type": t, "normal": f"N{i}", "count": 1, "salience": 0.5, "mentions": spans(3)}
        for i, t in enumerate(draw(st.lists(st.sampled_from(["PER", "LOC", "ORG"]), max_size=3)))
    ]
    dates = [dict(s, value=None, year=2020) for s in spans(2)]
    money = [dict(s, amount=1.5, currency="USD") for s in spans(2)]
    return _record(text, entities, dates, money, spans(2))


@settings(max_examples=150, deadline=None)
@given(_records())
def test_any_marks_render_well_formed_with_every_mention(record) -> None:
    view = render(record, href)
    trees = _parse(view)
    text = record["text"]
    # marks fully inside the paragraphs (not in a blank line between them) are all there
    inside = [p for p in view.paragraphs]
    expected = []
    for s in (
        [m for e in record["entities"] for m in e["mentions"]] + record["dates"] + record["money"]
    ):
        if any(p.start < s["stop"] and s["start"] < p.stop for p in inside):
            expected.append(
                "".join(
                    text[max(s["start"], p.start) : min(s["stop"], p.stop)]
                    for p in inside
                    if p.start < s["stop"] and s["start"] < p.stop
                )
            )
    assert sorted(_marks_text(trees).values()) == sorted(expected)
    for tree, p in zip(trees, view.paragraphs, strict=True):
        assert _text(tree) == text[p.start : p.stop]


def test_what_cleaning_cut_comes_with_the_record_where_it_stood(settings) -> None:
    from worker.pipeline import process

    record = process("sample", "text", SAMPLE.read_bytes(), settings).model_dump(mode="json")
    cut = [line["text"] for line in record["chrome"]]
    assert "Газета.Ru в Telegram" in cut and "Все новости" in cut
    assert not set(cut) & set(record["text"].split("\n\n"))
    assert record["title"] not in cut
    view = render(record, href)
    assert "Газета.Ru в Telegram" in view.paragraphs[0].cut_before
    assert "Все новости" in view.cut_after
    assert view.cut_lines == len(cut)
