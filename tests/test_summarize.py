"""The summariser (worker.summarize.summarize) and the summary evaluation's metric functions."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import pytest

from worker import entities
from worker import summarize as summarizer
from worker.evaluate import summarize as evaluation
from worker.nlp import load_nlp
from worker.schema import Entities, Summary
from worker.summarize import METHOD, Weights
from worker.summarize.leaning import leans
from worker.summarize.selection import MAX_JACCARD, jaccard
from worker.summarize.units import is_prose, split
from worker.text import words


def extract(text: str, **options: str | None) -> Entities:
    return entities.extract(text, load_nlp(), **options)


def summarize(text: str, found: Entities | None = None, **options: object) -> Summary:
    """The summariser with this process's embedding."""
    return summarizer.summarize(text, found, embedding=load_nlp().embedding, **options)  # type: ignore[arg-type]


SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLE = SHARED / "samples/gazeta_2017_putin_trump_call.txt"
TITLE = "Президенты поговорили о Корее"
SUBTITLE = "Путин и Трамп договорились об организации личной встречи"
BUDGETS = [{"sentences": n} for n in (1, 2, 3, 5, 8)] + [{"chars": n} for n in (120, 300, 600)]


@pytest.fixture(scope="module")
def raw() -> str:
    return SAMPLE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def body(raw: str) -> str:
    """The article body: the 17 paragraphs between the subtitle and «Новости и материалы»."""
    start = raw.index("Президенты России и США Владимир Путин")
    return raw[start : raw.index("Новости и материалы")].strip()


@pytest.fixture(scope="module")
def found(body: str) -> Entities:
    return extract(body, published_at="2017-05-02")


@pytest.fixture(scope="module")
def eval_texts() -> list[str]:
    """The texts of both summary evaluation files (31 articles) and the hand-cleaned texts of the
    clean evaluation (130 pages of 2011–12 news sites, some with chrome left in)."""
    folder = SHARED / "eval/summarize"
    texts = [
        evaluation.plain_text(article["text"])
        for name in ("gazeta_card_example.jsonl", "ria_headlines_30.jsonl")
        for article in evaluation.read_articles(folder / name)
    ]
    pages = evaluation.read_articles(SHARED / "eval/clean/daniel_ru_dev.jsonl")
    return texts + [page["gold_text"] for page in pages]


def check_shape(text: str, summary: Summary) -> None:
    """Verbatim, whole sentences of ``text``, in article order, joined by spaces."""
    units = {s.start: s for s in split(text)}
    assert summary.sentences
    for chosen in summary.sentences:
        assert text[chosen.start : chosen.stop] == chosen.text
        assert units[chosen.start].stop == chosen.stop  # a whole sentence, never cut
    assert [s.start for s in summary.sentences] == sorted(s.start for s in summary.sentences)
    assert summary.text == " ".join(s.text for s in summary.sentences)


def check_editorial(text: str, summary: Summary) -> None:
    """No near-copies; no chrome while there is prose; a sentence leaning on the one before it
    only with that one, or when every sentence standing alone is taken or copies a taken one."""
    chosen = [s.text for s in summary.sentences]
    for a, b in combinations(chosen, 2):
        assert jaccard(words(a), words(b)) <= MAX_JACCARD, (a, b)
    prose = [s for s in split(text) if is_prose(s)]
    if not prose:
        return
    starts = [s.start for s in prose]
    picked = {s.start for s in summary.sentences}
    assert picked <= set(starts), chosen
    alone_left = [
        s.text
        for s in prose
        if s.start not in picked
        and not leans(s.text)
        and all(jaccard(words(s.text), words(c)) <= MAX_JACCARD for c in chosen)
    ]
    for sent in summary.sentences:
        index = starts.index(sent.start)
        if leans(sent.text) and (index == 0 or starts[index - 1] not in picked):
            assert not alone_left, (sent.text, alone_left[:3])


@pytest.mark.parametrize("budget", BUDGETS, ids=str)
def test_summary_is_verbatim_ordered_and_within_budget(
    body: str, found: Entities, budget: dict[str, int]
) -> None:
    summary = summarize(body, found, title=TITLE, subtitle=SUBTITLE, **budget)
    check_shape(body, summary)
    check_editorial(body, summary)
    assert summary.method == METHOD
    if "sentences" in budget:
        assert len(summary.sentences) == budget["sentences"]
        assert summary.budget == f"{budget['sentences']} sentence" + "s" * (budget["sentences"] > 1)
    else:
        assert len(summary.text) <= budget["chars"]
        assert summary.budget == f"{budget['chars']} chars"


@pytest.mark.parametrize("budget", BUDGETS, ids=str)
def test_no_two_sentences_are_near_copies(
    body: str, found: Entities, budget: dict[str, int]
) -> None:
    # the sample repeats two lead sentences in its sixth paragraph
    chosen = summarize(body, found, **budget).sentences
    for a, b in combinations(chosen, 2):
        assert jaccard(words(a.text), words(b.text)) <= 0.5, (a.text, b.text)


@pytest.mark.parametrize("budget", [{"sentences": n} for n in (1, 3, 5)] + [{"chars": 400}])
def test_every_evaluation_article_gets_an_editorial_summary(
    eval_texts: list[str], budget: dict[str, int]
) -> None:
    for text in eval_texts:
        summary = summarize(text, **budget)
        check_shape(text, summary)
        check_editorial(text, summary)
        if "sentences" in budget:
            units = [s for s in split(text) if is_prose(s)] or split(text)
            assert len(summary.sentences) == min(budget["sentences"], len(units))
        elif len(summary.sentences) > 1:
            assert len(summary.text) <= budget["chars"]


def test_a_copy_is_never_picked_even_to_fill_the_budget() -> None:
    text = (
        "Президенты обсудили ситуацию на Корейском полуострове. "
        "Президенты обсудили ситуацию на Корейском полуострове. "
        "Стороны договорились о личной встрече в Гамбурге в июле."
    )
    chosen = [s.start for s in summarize(text, sentences=3).sentences]
    assert chosen == [0, text.rindex("Стороны")]


def test_the_sample_summary_has_the_news(body: str, found: Entities) -> None:
    summary = summarize(body, found, title=TITLE, subtitle=SUBTITLE)
    assert len(summary.sentences) == 3
    text = summary.text
    assert "третий телефонный разговор" in text
    assert "внешнеполитических ведомств" in text and "Сирии" in text
    assert "личной встречи" in text and "Группы двадцати" in text and "Гамбурге" in text


def test_the_headline_draws_in_what_it_announces(body: str, found: Entities) -> None:
    # without the subtitle, the meeting in Hamburg is too far down the article for 3 sentences
    plain = summarize(body, found).text
    assert "Гамбурге" not in plain
    announced = summarize(body, found, subtitle=SUBTITLE).text
    assert "Гамбурге" in announced
    unheaded = summarize(body, found, subtitle=SUBTITLE, weights=Weights(headline=0))
    assert unheaded.text == plain
    assert unheaded.method != METHOD and "headline=0" in unheaded.method


def test_chrome_around_the_article_is_never_picked(raw: str, body: str) -> None:
    start = raw.index(body)
    for budget in BUDGETS:
        summary = summarize(raw, title=TITLE, subtitle=SUBTITLE, **budget)
        check_shape(raw, summary)
        assert all(start <= s.start and s.stop <= start + len(body) for s in summary.sentences)


@pytest.mark.parametrize(
    "dateline",
    ["МОСКВА, 1 дек — РИА Новости.", "москва, 1 дек — риа новости.", "МОСКВА, 2 мая."],
)
def test_a_dateline_is_cut_off_and_never_picked(dateline: str) -> None:
    lead = "Около 60 тысяч литров нефти вытекли из нефтепровода в провинции Альберта."
    if dateline.islower():
        lead = lead.lower()
    text = f"{dateline} {lead}\n\nРегулятор сообщил об утечке нефти в болото в четверг вечером."
    assert [s.text for s in split(text)][:2] == [dateline, lead]
    summary = summarize(text, sentences=1)
    assert summary.text == lead
    check_shape(text, summary)


def test_a_tiny_char_budget_still_gives_one_sentence(body: str, found: Entities) -> None:
    summary = summarize(body, found, chars=10)
    check_shape(body, summary)
    assert len(summary.sentences) == 1


def test_sentences_leaning_on_others_are_avoided() -> None:
    text = (
        "Правительство утвердило новую программу развития железных дорог до 2030 года.\n\n"
        "Правительство утвердило программу развития железных дорог до 2030 года, сообщил "
        "министр.\n\n"  # a near-copy of the lead, never picked: nothing for "Он" to lean on
        "Он отметил, что программа потребует значительных вложений из бюджета.\n\n"
        "Программа предусматривает строительство новых железных дорог в Сибири."
    )
    chosen = [s.text for s in summarize(text, sentences=2).sentences]
    assert chosen[0].startswith("Правительство утвердило новую")
    assert chosen[1].startswith("Программа предусматривает")
    # with nothing else standing alone left, it is taken rather than leaving the budget unspent
    assert summarize(text, sentences=3).sentences[1].text.startswith("Он отметил")


def test_a_leaning_sentence_is_welcome_after_the_one_it_leans_on() -> None:
    text = (
        "Мессенджер перестанет работать на устаревших смартфонах с февраля. "
        "При этом функции мессенджера на этих системах могут быть ограничены уже сейчас. "
        "Компания советует пользоваться более новыми версиями операционных систем. "
        "Ранее компания прекратила поддержку другой мобильной платформы."
    )
    chosen = [s.text for s in summarize(text, sentences=2).sentences]
    assert chosen[1].startswith("При этом")


@pytest.mark.parametrize(
    ("sentence", "leaning"),
    [
        ("Тогда политики обсудили широкий круг актуальных проблем.", True),
        ("Об этом американский лидер написал в своем твиттере.", True),
        ("Беседа носила деловой и конструктивный характер», — резюмируется в сообщении.", True),
        ('мы сделаем это", — цитирует росу агентство рейтер со ссылкой на регулятор.', True),
        ("— Я спокойно подошел к судье, чтобы поговорить с ним.", True),
        ("Пострадавших нет.", True),
        ('"Мы сделаем это", — цитирует агентство рейтер представителя регулятора.', False),
        ("Президенты России и США провели свой третий телефонный разговор.", False),
    ],
)
def test_leans(sentence: str, leaning: bool) -> None:
    assert leans(sentence) is leaning


def test_summary_is_deterministic(body: str, found: Entities) -> None:
    assert summarize(body, found, chars=600) == summarize(body, found, chars=600)


def test_without_entities_and_without_text() -> None:
    assert summarize("Одно предложение о погоде в Москве.", sentences=3).text == (
        "Одно предложение о погоде в Москве."
    )
    empty = summarize("   ")
    assert (empty.text, empty.sentences) == ("", [])


def test_jaccard() -> None:
    assert jaccard(["а", "б"], ["б", "в"]) == pytest.approx(1 / 3)
    assert jaccard([], []) == 0.0
    assert words("Ёлка, «ёж» и 5 котов!") == ["елка", "еж", "и", "5", "котов"]


# --- the summary evaluation -----------------------------------------------------------------


def test_prepare_follows_the_gazeta_protocol() -> None:
    assert evaluation.prepare("Путин, Трамп и «Газпром».") == "путин , трамп и « газпром » ."


def test_rouge_of_identical_disjoint_and_empty_texts() -> None:
    same = evaluation.rouge_f1([("кошка сидит на окне", "Кошка сидит на окне")])
    assert same == {"rouge-1": 100.0, "rouge-2": 100.0, "rouge-l": 100.0}
    disjoint = evaluation.rouge_f1([("собака лает", "кошка сидит на окне")])
    assert disjoint == {"rouge-1": 0.0, "rouge-2": 0.0, "rouge-l": 0.0}
    half = evaluation.rouge_f1([("кошка сидит", "кошка сидит"), ("", "кошка сидит")])
    assert half["rouge-1"] == 50.0


def test_plain_text_of_an_html_fragment() -> None:
    html = (
        "<p><strong>москва, 1 дек&nbsp;&mdash; риа новости.</strong> пожар в цеху на севере "
        "москвы локализован, сообщила пресс-служба столичного главка мчс.</p>\n"
        "<p>ранее сообщалось, что в цеху начался крупный пожар на площади 2 тысячи метров.</p>"
    )
    text = evaluation.plain_text(html)
    assert "<" not in text and "&nbsp;" not in text
    assert "пожар в цеху на севере москвы локализован" in text
    assert evaluation.plain_text("  уже текст  ") == "уже текст"


def test_lead() -> None:
    text = "Первое предложение. Второе предложение.\n\nТретье предложение."
    assert evaluation.lead(text, 2) == "Первое предложение. Второе предложение."


@pytest.mark.parametrize(
    ("field", "override", "budget"),
    [("title", None, "1 sentence"), ("summary", None, "3 sentences"), ("title", 2, "2 sentences")],
)
def test_evaluate_on_a_tiny_file(
    tmp_path: Path, field: str, override: int | None, budget: str
) -> None:
    text = (
        "Правительство утвердило программу развития железных дорог. "
        "Программа рассчитана до 2030 года. Она потребует вложений из бюджета."
    )
    path = tmp_path / "tiny.jsonl"
    path.write_text(json.dumps({"text": text, field: "Правительство утвердило программу"}))
    result = evaluation.evaluate(path, progress=False, sentences=override)
    assert (result["articles"], result["reference"], result["budget"]) == (1, field, budget)
    assert set(result["ours"]) == set(result["lead"]) == {"rouge-1", "rouge-2", "rouge-l"}
    assert set(result["variants"]) == set(evaluation.VARIANTS)
    assert result["ours"]["rouge-1"] > 0
    json.dumps(result)


@pytest.mark.parametrize(("field", "given"), [("title", None), ("summary", "Заголовок статьи")])
def test_the_title_goes_to_the_summariser_only_when_it_is_not_the_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, given: str | None
) -> None:
    titles = []

    def spy(text: str, found: Entities | None = None, **options: object) -> Summary:
        titles.append(options.get("title"))
        return summarizer.summarize(text, found, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(evaluation, "summarize", spy)
    article = {"text": "Правительство утвердило программу развития железных дорог страны."}
    article |= {"title": "Заголовок статьи", field: "Правительство утвердило программу"}
    path = tmp_path / "tiny.jsonl"
    path.write_text(json.dumps(article))
    evaluation.evaluate(path, progress=False)
    assert titles and set(titles) == {given}
