"""The entities stage (worker.entities.extract) and the NER evaluation's metric functions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from razdel import tokenize

from worker import entities
from worker.entities import repairs
from worker.entities.spans import Span
from worker.evaluate import ner
from worker.nlp import load_nlp
from worker.schema import Entities, Entity
from worker.text import tokens as tokens_of


def extract(text: str, **options: str | None) -> Entities:
    """The stage with this process's models."""
    return entities.extract(text, load_nlp(), **options)


SAMPLE = Path(__file__).resolve().parents[2] / "shared/samples/gazeta_2017_putin_trump_call.txt"


@pytest.fixture(scope="module")
def body() -> str:
    """The article body: the 17 paragraphs between the subtitle and «Новости и материалы»."""
    raw = SAMPLE.read_text(encoding="utf-8")
    start = raw.index("Президенты России и США Владимир Путин")
    return raw[start : raw.index("Новости и материалы")].strip()


@pytest.fixture(scope="module")
def found(body: str) -> Entities:
    return extract(body, published_at="2017-05-02T10:00:00+03:00")


def only(found: Entities, type_: str, normal: str) -> Entity:
    matches = [e for e in found.entities if e.type == type_ and e.normal == normal]
    assert len(matches) == 1, [(e.type, e.normal) for e in found.entities]
    return matches[0]


def test_every_offset_points_at_its_text(body: str, found: Entities) -> None:
    spans = [m for e in found.entities for m in e.mentions] + found.dates + found.money
    assert spans
    for span in spans:
        assert body[span.start : span.stop] == span.text


@pytest.mark.parametrize(
    ("normal", "first", "last", "stem"),
    [
        ("Владимир Путин", "Владимир", "Путин", "Путин"),
        ("Дональд Трамп", "Дональд", "Трамп", "Трамп"),
    ],
)
def test_a_person_is_one_entity_with_all_mentions(
    body: str, found: Entities, normal: str, first: str, last: str, stem: str
) -> None:
    person = only(found, "PER", normal)
    assert (person.first, person.last) == (first, last)
    assert person.count == len(person.mentions) >= 5
    # every occurrence of the surname, in any case form, is one of this entity's mentions
    for occurrence in re.finditer(rf"\b{stem}\w*", body):
        assert any(m.start <= occurrence.start() < m.stop for m in person.mentions), occurrence
    others = [e for e in found.entities if e is not person and e.last == last]
    assert not others


def test_places_merge_their_forms_and_aliases(found: Entities) -> None:
    russia = only(found, "LOC", "Россия")
    usa = only(found, "LOC", "США")
    assert {"России", "Россией"} <= {m.text for m in russia.mentions}
    assert {"США", "Соединенных Штатов"} <= {m.text for m in usa.mentions}


def test_entities_are_ordered_by_salience(found: Entities) -> None:
    saliences = [e.salience for e in found.entities]
    assert saliences == sorted(saliences, reverse=True)
    assert all(0 <= s <= 1 for s in saliences)
    assert {e.normal for e in found.entities[:2]} == {"Владимир Путин", "Дональд Трамп"}
    assert found.entities[-1].salience < found.entities[0].salience


def test_dates_resolve_to_iso(found: Entities) -> None:
    values = {d.text: d.value for d in found.dates}
    assert values["28 января 2017 года"] == "2017-01-28"
    assert values["4 апреля"] == "2017-04-04"  # the year from published_at


def test_a_date_without_a_year_takes_the_nearest_one() -> None:
    text = "Встреча прошла 28 декабря, следующая назначена на 5 марта 2018 г."
    dates = extract(text, published_at="2017-01-10").dates
    assert [(d.text, d.value) for d in dates] == [
        ("28 декабря", "2016-12-28"),
        ("5 марта 2018 г.", "2018-03-05"),
    ]
    unknown = extract(text).dates[0]
    assert (unknown.value, unknown.year, unknown.month, unknown.day) == (None, None, 12, 28)


def test_money_has_amount_and_currency() -> None:
    text = "Компания получила кредит в 5 млн рублей и 2,5 млрд долларов, а также 100 евро."
    money = extract(text).money
    assert [(m.text, m.amount, m.currency) for m in money] == [
        ("5 млн рублей", 5_000_000.0, "RUB"),
        ("2,5 млрд долларов", 2_500_000_000.0, "USD"),
        ("100 евро", 100.0, "EUR"),
    ]
    assert all(text[m.start : m.stop] == m.text for m in money)


def test_dates_and_sums_reach_the_edges_of_what_yargy_reads() -> None:
    """yargy reads from the word before the first number to two words after the last (dates),
    from the first number on (sums): the month before a year, "г ." after it, a numeral in
    brackets and the currency after a sum are all still in."""
    text = (
        "Сделку в ноябре 2012 года оценили в 5 млн (пять миллионов) рублей, "
        "кредит вернули 1 мая 2015 г . Вчера."
    )
    found = extract(text)
    assert [d.text for d in found.dates] == ["ноябре 2012 года", "1 мая 2015 г ."]
    assert [m.text for m in found.money] == ["5 млн (пять миллионов) рублей"]


def test_a_bare_surname_joins_only_an_unambiguous_person() -> None:
    text = (
        "Министр Сергей Иванов встретился с Александром Ивановым. "
        "Иванов заявил, что встреча прошла успешно."
    )
    people = {e.normal: e for e in extract(text).entities if e.type == "PER"}
    assert people["Сергей Иванов"].count == people["Александр Иванов"].count == 1
    assert people["Иванов"].mentions[0].text == "Иванов"


def test_names_keep_yo_and_compare_without_it() -> None:
    text = "Конструктор Сергей Королёв родился в Житомире. Королев создал первую ракету."
    (person,) = [e for e in extract(text).entities if e.type == "PER"]
    assert (person.normal, person.count) == ("Сергей Королёв", 2)


def test_patronymic_and_initials() -> None:
    text = "Владимир Владимирович Путин провел встречу. Путин заявил о поддержке. В. Путин уехал."
    (person,) = [e for e in extract(text).entities if e.type == "PER"]
    assert (person.first, person.middle, person.last) == ("Владимир", "Владимирович", "Путин")
    assert person.count == 3


def test_an_organisation_declines_its_head_only() -> None:
    text = "Представитель Министерства иностранных дел заявил о готовности к диалогу."
    normals = {e.normal for e in extract(text).entities if e.type == "ORG"}
    assert "Министерство иностранных дел" in normals


def test_extract_is_deterministic(body: str, found: Entities) -> None:
    again = extract(body, published_at="2017-05-02T10:00:00+03:00")
    assert again.model_dump() == found.model_dump()


def test_blank_text_has_no_entities() -> None:
    assert extract("  \n ") == Entities()


def people(text: str) -> dict[str, Entity]:
    return {e.normal: e for e in extract(text).entities if e.type == "PER"}


def mentions(text: str, type_: str) -> list[str]:
    return [m.text for e in extract(text).entities if e.type == type_ for m in e.mentions]


def test_a_bare_surname_joins_the_person_named_in_full_much_more_often() -> None:
    text = (
        "Александр Вертинский вернулся в Москву. Отец Александра Вертинского, Николай "
        "Вертинский, был адвокатом. Концерты Вертинского шли с аншлагом, Вертинский пел."
    )
    found = people(text)
    assert found["Николай Вертинский"].count == 1
    assert found["Александр Вертинский"].count == 4
    assert "Вертинский" not in found


# --- spans: natasha's errors repaired ---------------------------------------------------------


def test_the_first_word_of_a_text_can_be_a_name() -> None:
    # natasha's model tags nothing here: the first word has no left context
    (person,) = people("Путин поручил создать программу развития Арктики.").values()
    assert (person.last, person.mentions[0].start) == ("Путин", 0)


def test_a_span_stops_at_a_line_break_and_a_list_separator() -> None:
    text = "Автор: Олег Давыдов\n\nЛёд тронулся. Призёры: Чили • Коста-Рика • Эквадор"
    assert mentions(text, "PER") == ["Олег Давыдов"]
    assert sorted(mentions(text, "LOC")) == ["Коста-Рика", "Чили", "Эквадор"]


def test_a_name_and_its_bracketed_abbreviation_or_spelling_are_one_entity() -> None:
    text = (
        "Федеральная антимонопольная служба (ФАС) направила предписание. "
        "Об этом сказал астронавт Скотт Хоровитц (Scott Horowitz)."
    )
    by_type = {e.type: e for e in extract(text).entities}
    assert [m.text for m in by_type["ORG"].mentions] == [
        "Федеральная антимонопольная служба",
        "ФАС",
    ]
    assert [m.text for m in by_type["PER"].mentions] == ["Скотт Хоровитц", "Scott Horowitz"]
    assert by_type["PER"].normal == "Скотт Хоровитц"


def test_a_company_name_is_what_the_quotes_after_its_legal_form_hold() -> None:
    text = (
        'Акции ОАО «Газпром» купила компания ООО "Фрут Сервис". '
        "Расследование провёл Фонд борьбы с коррупцией."
    )
    assert mentions(text, "ORG") == ["Газпром", "Фрут Сервис", "Фонд борьбы с коррупцией"]


def test_known_types_and_abbreviations_that_name_nothing() -> None:
    found = extract("ЕС ввёл санкции, сообщают СМИ. Глава Евросоюза выступил. Экипаж МКС вернулся.")
    kinds = {(e.type, e.normal, e.count) for e in found.entities}
    assert ("ORG", "ЕС", 2) in kinds  # natasha: two LOC
    assert ("LOC", "МКС", 1) in kinds  # natasha: ORG
    assert not [m for e in found.entities for m in e.mentions if m.text == "СМИ"]


def test_two_people_side_by_side_are_two_mentions() -> None:
    found = people("Нравился ли Сталину Вертинский, неизвестно.")
    assert {(e.normal, e.mentions[0].text) for e in found.values()} == {
        ("Сталин", "Сталину"),
        ("Вертинский", "Вертинский"),
    }


def test_a_name_tagged_once_is_tagged_where_else_it_stands() -> None:
    text = "Вчера Газпром отчитался. Акции Газпром продал, а газпром тут ни при чём."
    tokens = tokens_of(text)
    start = [t.text for t in tokens].index("Газпром")
    found = repairs.propagate(tokens, [Span(start, start + 1, "ORG")])
    assert [(tokens[s.start].start, s.type) for s in found] == [
        (m.start(), "ORG") for m in re.finditer("Газпром", text)
    ]


def test_a_capitalised_common_word_opening_a_sentence_is_no_name() -> None:
    text = "Супруга уехала. Власть молчит, а Шнур поёт. Шнур ушёл."
    tokens = tokens_of(text)
    at = {t.text: [i for i, u in enumerate(tokens) if u.text == t.text] for t in tokens}
    found = [Span(i, i + 1, "PER") for word in ("Супруга", "Шнур") for i in at[word]]
    found.append(Span(at["Власть"][0], at["Власть"][0] + 1, "ORG"))
    kept = repairs.drop_sentence_initial_words(tokens, found, load_nlp().dictionary)
    # "Шнур" opens a sentence too, but is a name where a capital means one
    assert sorted(tokens[s.start].start for s in kept) == [
        m.start() for m in re.finditer("Шнур", text)
    ]


# --- normal forms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "type_", "normal"),
    [
        ("Он жил в Объединённых Арабских Эмиратах.", "LOC", "Объединённые Арабские Эмираты"),
        (
            "Выборы в Северо-Кавказском федеральном округе.",
            "LOC",
            "Северо-Кавказский федеральный округ",
        ),
        ("Переговоры с Соединёнными Штатами Америки.", "LOC", "США"),  # the known alias
        (
            "Выпускник Львовского высшего военно-политического училища.",
            "ORG",
            "Львовское высшее военно-политическое училище",
        ),
        ("Встреча Сёмина с болельщиками.", "PER", "Сёмин"),  # ё kept
        ("Переговоры с Бараком Обамой.", "PER", "Барак Обама"),  # the oblique case undone
        ("Рассказ Смирнова-Сокольского.", "PER", "Смирнов-Сокольский"),  # both parts declined
        ("Замминистра встретился с Григорием Карасиным.", "PER", "Григорий Карасин"),  # unknown
        ("Министр встретился с Кристин Лагард.", "PER", "Кристин Лагард"),  # indeclinable
        ("Суд над Мартином Шкрели начался.", "PER", "Мартин Шкрели"),  # indeclinable
        ("Основано Модестом Колеровым в 2002 году.", "PER", "Модест Колеров"),  # tagger: Nom
        ("Переговоры Си Цзиньпина и премьера.", "PER", "Си Цзиньпин"),  # surname first
    ],
)
def test_normal_forms(text: str, type_: str, normal: str) -> None:
    assert [e.normal for e in extract(text).entities if e.type == type_] == [normal]


def test_a_lone_surname_is_the_last_name_and_east_asian_names_start_with_it() -> None:
    found = people("Джордж Лукас снял фильм. Лукас доволен. Пан Ги Мун и Путин заявили.")
    assert (found["Джордж Лукас"].first, found["Джордж Лукас"].last) == ("Джордж", "Лукас")
    assert found["Джордж Лукас"].count == 2
    assert (found["Пан Ги Мун"].first, found["Пан Ги Мун"].last) == ("Ги Мун", "Пан")
    assert (found["Путин"].first, found["Путин"].last) == (None, "Путин")


# --- the NER evaluation ---------------------------------------------------------------------

TEXT = "Президент Владимир Путин прибыл в Москву и встретился с Сергеем Ивановым."


def span(fragment: str, type_: str, **normal: str | None) -> dict:
    start = TEXT.index(fragment)
    return {"start": start, "stop": start + len(fragment), "type": type_, **normal}


GOLD = [
    span("Владимир Путин", "PER", lastname="Путин", firstname="Владимир"),
    span("Москву", "LOC", normal="Москва"),
    span("Сергеем Ивановым", "PER", lastname="Иванов", firstname="Сергей", patronymic="Ильич"),
]


def test_token_counts_follow_naeval() -> None:
    tokens = list(tokenize(TEXT))
    pred = [span("Путин", "PER"), span("Сергеем", "PER"), span("Москву", "ORG")]
    # gold PER tokens: Владимир, Путин, Сергеем, Ивановым; predicted: Путин, Сергеем
    assert ner.token_counts(tokens, GOLD, pred, "PER") == ner.Counts(2, 2, 2, 4)
    assert ner.token_counts(tokens, GOLD, pred, "LOC") == ner.Counts(0, 0, 0, 1)
    assert ner.token_counts(tokens, GOLD, pred, "ORG") == ner.Counts(0, 1, 0, 0)


def test_span_counts_need_exact_bounds() -> None:
    pred = [span("Владимир Путин", "PER"), span("Сергеем", "PER")]
    assert ner.span_counts(GOLD, pred, "PER") == ner.Counts(1, 2, 1, 2)
    scores = ner.span_counts(GOLD, pred, "PER").scores()
    assert scores == {"precision": 0.5, "recall": 0.5, "f1": 0.5}
    assert ner.Counts().scores() == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_normal_checks_compare_folded_parts_of_exact_matches() -> None:
    pred = [
        span("Владимир Путин", "PER", last="путин", first="Вова", middle=None),
        span("Москву", "LOC", normal="Москва"),
        span("Ивановым", "PER", last="Иванов", first="Сергей", middle=None),  # not exact
    ]
    checks = list(ner.normal_checks(TEXT, GOLD, pred))
    assert checks == [("PER_last", True), ("PER_first", False), ("LOC", True), ("LOC_own", True)]
    assert ner.accuracy(checks)["PER_first"] == {"accuracy": 0.0, "spans": 1}


@pytest.mark.parametrize(
    ("surface", "normal", "own"),
    [
        ("России", "Россия", True),
        ("Соединённых Штатов Америки", "Соединенные Штаты Америки", True),
        ("Орла", "Орёл", True),
        ("России", "РФ", False),  # another name of the country
        ("РФ", "Россия", False),
        ("Тульской", "Тульская область", False),
        ("Турции", "Турецкая республика", False),
    ],
)
def test_own_name_tells_an_inflection_from_another_name(
    surface: str, normal: str, own: bool
) -> None:
    assert ner.own_name(surface, normal) is own


def test_evaluate_on_a_tiny_file(tmp_path: Path) -> None:
    path = tmp_path / "tiny.jsonl"
    docs = [{"id": "1", "set": "dev", "text": TEXT, "spans": GOLD}]
    docs.append({"id": "2", "set": "test", "text": TEXT, "spans": GOLD[:1]})
    path.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs))
    result = ner.evaluate(path, progress=False)
    assert result["docs"] == 2
    assert result["by_set"]["dev"]["docs"] == result["by_set"]["test"]["docs"] == 1
    assert result["by_set"]["test"]["token"]["LOC"]["precision"] == 0.0  # Москву is no gold there
    assert result["by_set"]["dev"]["token"]["LOC"]["f1"] == 1.0
    assert result["span"]["PER"]["recall"] == 1.0
    assert result["normal"]["PER_last"] == {"accuracy": 1.0, "spans": 3}
    assert result["normal"]["PER_middle"] == {"accuracy": 0.0, "spans": 1}
    json.dumps(result)
