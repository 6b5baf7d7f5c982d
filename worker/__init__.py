"""newsworker: a streaming pipeline for Russian news (clean → entities → summarize → deliver)."""

__version__ = "0.1.0"
