"""Exceptions that decide where an article goes."""


class BadArticle(ValueError):
    """The article itself is unusable (bad payload, nothing left after cleaning…).

    Permanent: never retried; the article goes to the dead-letter stream with this reason.
    """


class SinkUnavailable(RuntimeError):
    """A sink could not be reached. Transient: the deliver task retries with backoff."""

    sink = "unknown"  # the name of the sink that failed, set by ``worker.sinks.deliver``
