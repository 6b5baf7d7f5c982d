"""The analyst's query store in PostgreSQL: typed tables the API and BI tools read.

Tables (in the schema ``NEWSWORKER_POSTGRES_SCHEMA``):

- ``articles``          the current version of each article: typed columns (url, canonical_url,
  source, title, published_at, processed_at, language, story_id, …), ``dated_at`` (published,
  else processed), ``entity_keys`` (``TYPE:normal``, GIN-indexed) and ``tsv`` (Russian
  full-text vector of title and text, GIN-indexed).
- ``article_versions``  every submission's full record (``jsonb``): a ``--force`` adds a
  version; the latest processed one is the article's current row.
- ``article_entities``  (article, type, normal, count, salience) of each current article.
- ``schema_migrations`` which numbered migration (``migrations/NNNN_*.sql``) has been applied.

Records go in through the SQL function ``nw_ingest(record jsonb)`` (defined by the
migrations), so the sink and an upgraded database's old rows take the same path.
"""

from __future__ import annotations

from worker.pgstore.migrate import connect, migrate

__all__ = ["connect", "migrate"]
