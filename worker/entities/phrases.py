"""A place's or an organisation's name in the nominative: the head noun and the words that agree
with it, each put in the nominative with pymorphy's dictionary, the morph tagger's reading of the
word in its sentence choosing among the dictionary's readings.
"""

from __future__ import annotations

from collections.abc import Mapping

from worker.entities.declension import decline_back
from worker.entities.dictionary import NAME_GRAMMEMES, best, declinable, respell
from worker.entities.morph import Word
from worker.nlp import Dictionary

NOUNS = {"NOUN", "PROPN"}

ADJECTIVES = {"ADJ", "DET", "VERB", "NUM"}  # VERB: participles ("Соединённых")


def phrase(words: list[Word], dictionary: Dictionary) -> str:
    """A place's or an organisation's name with the head noun and the words that agree with it
    in the nominative; what follows the head stays ("Соединённых Штатов Америки" → "Соединённые
    Штаты Америки"); a name that is a prepositional phrase ("В Контакте") stays."""
    if not words or words[0].pos == "ADP":
        return "".join(word.space + word.text for word in words)
    head = next((k for k, w in enumerate(words) if w.pos in NOUNS), len(words) - 1)
    out = []
    for k, word in enumerate(words):
        if k > head or word.pos == "ADP":
            out.extend(w.space + w.text for w in words[k:])
            break
        out.append(word.space + _phrase_word(word, _agreeing(word, words[head]), dictionary))
    return "".join(out)


def _agreeing(word: Word, head: Word) -> dict[str, str]:
    """The features ``word`` has as part of the phrase ``head`` heads: its own case (the head's
    if the tagger gave it none); an adjective's gender and number are the head's."""
    feats = {**head.feats, **word.feats} if "Case" not in word.feats else dict(word.feats)
    if word.pos in ADJECTIVES:
        feats.update({k: head.feats[k] for k in ("Gender", "Number") if k in head.feats})
    return feats


def _phrase_word(word: Word, feats: Mapping[str, str], dictionary: Dictionary) -> str:
    if "-" not in word.text or dictionary.known(word.text):
        return _word_nominative(word.text, word.pos, feats, dictionary)
    parts = word.text.split("-")
    # "Северо-Кавказском": the last part declines; "Ростова-на-Дону": the one before "на"
    k = next((i - 1 for i, part in enumerate(parts) if part.islower() and i > 0), len(parts) - 1)
    parts[k] = _word_nominative(parts[k], word.pos, feats, dictionary)
    return "-".join(parts)


def _word_nominative(text: str, pos: str, feats: Mapping[str, str], dictionary: Dictionary) -> str:
    """A word of a place's or an organisation's name in the nominative: as the dictionary knows
    it (not as a person's name: "Бенрате" is no "Бенрата"); a word it does not know declined
    back by the rules, or left as it is."""
    case = feats.get("Case")
    if not declinable(text) or case in (None, "Nom"):
        return text
    if not dictionary.known(text):
        return decline_back(text, case, feats.get("Gender")) or text
    forms = list(dictionary.forms(text))
    forms = [f for f in forms if not NAME_GRAMMEMES & f.tag.grammemes] or forms
    forms = [f for f in forms if _same_family(f.pos, pos)] or forms
    return respell(text, best(forms, feats))


def _same_family(form_pos: str, pos: str) -> bool:
    if pos in NOUNS:
        return form_pos in NOUNS
    if pos in ADJECTIVES:
        return form_pos in ADJECTIVES
    return True
