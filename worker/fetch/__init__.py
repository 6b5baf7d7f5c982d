"""Taking in the web: sources (feeds, sitemaps, pages), a polite HTTP client, URL identity.

- ``sources``  the sources file ``newsworker watch`` reads (re-read when it changes).
- ``feeds``, ``sitemaps``  what a source lists: RSS/Atom/JSON Feed items, sitemap URLs.
- ``client``   the HTTP client: timeouts, redirects, body limit, robots.txt, rate limits.
- ``robots``, ``ratelimit``  robots.txt (cached), per-host concurrency and rate (in Redis).
- ``urls``     canonical URLs and the id of the article behind one.
- ``state``    what ``watch`` remembers in Redis: items seen, validators, backoff.
- ``watch``    the producer loop; ``task`` the Celery task that fetches a page.
"""
