"""Delivery: how an article travels from ``submit`` to the sinks, and lands exactly once.

One concern a module (``docs/architecture.md`` draws the whole):

- ``protocol``   the words: ``Ref`` (id, kind, submission), the stage order ``STAGES``
- ``ledger``     every Redis key (the key map) and the protocol's verbs: admit, take,
                 hand_over, land, dead_letter
- ``chain``      batches and the chain of stage tasks, published by task name
- ``policy``     ``StageTask``: per-article dead letters, splitting, poison counting, retries
- ``sweeper``    re-enqueues articles whose messages were lost
- ``runtime``    a worker process's settings and resources, built at process init
- ``signals``    the worker's bootstrap and log context
- ``kombu_fix``  a kombu bug worked around, applied at worker init only

Importing this package imports none of them.
"""
