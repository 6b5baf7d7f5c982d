"""The HTTP API over the query store (FastAPI; OpenAPI at ``/openapi.json``).

- ``app.py``       the application: routers, token auth, JSON errors, the connection pool.
- ``queries.py``   every SQL query the API runs (plain functions over a connection).
- ``models.py``    what the endpoints return.
- ``routers/``     one module per resource (articles, entities, sources, dead letters,
  alerts); pages (HTML) are further routers on the same app.
- ``auth.py``      the token (``Authorization: Bearer …``), generated on first start.
"""
