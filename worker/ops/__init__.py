"""Running newsworker for months: metrics (``metrics``), health checks (``health``), stream and
state retention (``retention``), strict configuration (``config.check``), and Celery's
command line with newsworker's logging (``celery``)."""
