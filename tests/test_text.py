"""The shared text primitives (worker.text)."""

from __future__ import annotations

import re

import pytest

from worker import text


def test_fold_lowercases_and_reads_yo_as_e() -> None:
    assert text.fold("Ёлкин ЗЕЛЁНЫЙ") == "елкин зеленый"
    assert text.yo_as_e("Ёлкин зелёный") == "Елкин зеленый"


@pytest.mark.parametrize(
    ("word", "number"),
    [("января", 1), ("Феврале", 2), ("мая", 5), ("маю", 5), ("декабрь", 12), ("марта", 3)],
)
def test_month_names_in_any_case(word: str, number: int) -> None:
    assert text.month_number(word) == number
    assert re.match(rf"(?:{text.MONTHS})", word, re.IGNORECASE)


def test_not_month_names() -> None:
    assert text.month_number("понедельник") is None
    assert not re.match(rf"(?:{text.MONTHS})", "магазин", re.IGNORECASE)
    abbreviations = re.compile(rf"(?:{text.MONTH_ABBREVIATIONS})\b", re.IGNORECASE)
    assert [bool(abbreviations.match(w)) for w in ("дек", "мая", "сен", "март", "ма")] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_sentence_ends() -> None:
    ends = [bool(text.ENDS_SENTENCE.search(s)) for s in ("Да.", "«Живи!»", "Итак…", "Меню", "1)")]
    assert ends == [True, True, True, False, False]


def test_language() -> None:
    model = text.load_language_model()
    assert model is text.load_language_model()  # loaded once per process
    ru = "Президенты России и США провели третий телефонный разговор."
    assert text.detect_language(ru, model) == "ru"
    uk = "Президенти України та США провели розмову, і її тема відома."
    assert text.detect_language(uk, model) == "uk"
    assert (
        text.detect_language("The presidents of Russia and the US spoke by phone.", model) == "en"
    )
    assert text.detect_language("12 345", model) == "und"


def test_sentences_and_tokens_carry_offsets() -> None:
    body = "Путин прилетел в Сочи. Там жарко.\nДалее — матч"
    sentences = text.sentences(body)
    assert [s.text for s in sentences] == ["Путин прилетел в Сочи.", "Там жарко.", "Далее — матч"]
    assert all(body[s.start : s.stop] == s.text for s in sentences)
    tokens = text.tokens(body)
    assert all(body[t.start : t.stop] == t.text for t in tokens)
    assert [t.sent for t in tokens if t.text in ("Сочи", "жарко", "матч")] == [0, 1, 2]
    assert text.words("Её «дом» — 5-й!") == ["ее", "дом", "5-й"]
