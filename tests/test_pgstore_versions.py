"""The store's numbered migrations."""

from __future__ import annotations


def test_migration_versions_are_unique() -> None:
    """Two branches adding a migration of the same number would have one of them skipped."""
    from worker.pgstore.migrate import migrations

    versions = [version for version, _, _ in migrations()]
    assert len(versions) == len(set(versions)) >= 2
