"""Entities stage: people, places and organisations merged per article, plus dates and money.

One module per concern, in the order the stage runs them (:func:`extract`, ``stage``):

- ``tagger``: slovnet's NER and morph taggers run on our own tokens (``worker.text.tokens``) —
  the one module that reaches into slovnet's internals (pinned exactly; contract tests);
- ``spans``: the NER model's BIO tags read into spans; ``repairs``: its systematic errors
  repaired by rules;
- ``mentions``: each span with its normal form: ``morph`` (the morph tagger's reading of a span's
  words in context), ``names`` (a person's name read into first, middle and last name),
  ``phrases`` (a place's or an organisation's name in the nominative), ``declension`` (the rules of
  Russian name declension, for names the dictionary does not know), ``dictionary`` (readings of
  pymorphy's dictionary), ``gazetteer`` (small hand-made lists);
- ``merge``: mentions of one entity grouped; ``records``: one entity per group, its canonical
  name and salience;
- ``dates``, ``money``: yargy's extractors run only near their cues (``cues``).

Models are passed in (``worker.nlp.Nlp``); nothing here loads them.
"""

from __future__ import annotations

from worker.entities.stage import extract

__all__ = ["extract"]
