"""Standing queries: alert rules checked against every processed article in the deliver step.

- ``rules``     the rule model (entity, keyword, source, language conditions under all/any) and
  where rules live (a file, and the ones created through the API, in Redis).
- ``engine``    rules compiled into an index (by entity key, keyword form, source, language), so
  an article is checked only against the rules one of whose conditions it can meet.
- ``dispatch``  a match goes once per (rule, article) to the stream ``alerts`` and to the
  rule's webhook (``webhook``: signed JSON, retried with backoff, dead-lettered at the end).
"""
