"""Sums of money: natasha's ``MoneyExtractor`` near its cues (a currency's name or sign)."""

from __future__ import annotations

import re

from worker.entities.cues import near_cues
from worker.nlp import Nlp
from worker.schema import MoneyFact

MONEY_CUE = re.compile(r"\b(?:евро\b|доллар|руб(?:л|\b)|р\b)|[$€₽]", re.IGNORECASE)


def money(text: str, nlp: Nlp) -> list[MoneyFact]:
    # a sum starts with its number; what follows that (a numeral in brackets) has no bound
    sums = near_cues(text, MONEY_CUE, nlp.money_extractor, 6, 3, lead=0, tail=None)
    return [
        MoneyFact(
            start=start,
            stop=stop,
            text=text[start:stop],
            amount=float(found.amount),
            currency=found.currency,
        )
        for start, stop, found in sums
    ]
