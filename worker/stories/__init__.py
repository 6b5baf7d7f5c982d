"""Reprints and stories: the grouping step between summarize and deliver.

- ``signatures.py``  what is kept of an article: MinHash + LSH bands, lemmas, entities
- ``similarity.py``  reprint containment and story score, plain functions
- ``index.py``       the Redis index shared by all workers (every key documented there), Lua
- ``group.py``       one article: candidates → decision → atomic commit
"""
