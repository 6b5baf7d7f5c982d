"""The kombu bug that ``worker.delivery.kombu_fix`` works around, shown on the installed kombu:
when this test fails, kombu has fixed it upstream — delete the fix."""

from __future__ import annotations

import kombu
import pytest
import redis

from worker.delivery import kombu_fix


def _orphaned_channel(settings):
    """A Redis channel whose connection has let go of its transport, as a connection lost
    and closed under an open consumer channel leaves it."""
    connection = kombu.Connection(settings.effective_broker_url)
    channel = connection.channel()
    connection._do_close_transport()  # what Connection.close() ends with
    return channel


def test_kombu_raises_an_attribute_error_for_a_closed_connection(settings, monkeypatch):
    monkeypatch.setattr(kombu.transport.redis.Channel, "_connparams", kombu_fix._original)
    assert kombu_fix.affected(), f"kombu {kombu.__version__} is outside the fix's versions"
    with pytest.raises(AttributeError), _orphaned_channel(settings).conn_or_acquire():
        pass


def test_the_fix_raises_the_connection_error_it_is(settings, monkeypatch):
    monkeypatch.setattr(kombu.transport.redis.Channel, "_connparams", kombu_fix._original)
    assert kombu_fix.apply() and kombu_fix.applied()
    with pytest.raises(redis.ConnectionError), _orphaned_channel(settings).conn_or_acquire():
        pass


def test_the_fix_is_only_for_the_versions_that_need_it():
    assert kombu_fix.affected("5.7.0") and kombu_fix.affected("5.7.9")
    assert not kombu_fix.affected("5.6.2") and not kombu_fix.affected("5.8.0")


def test_importing_the_app_does_not_patch_kombu():
    import subprocess
    import sys

    code = (
        "import worker.celery_app, worker.tasks, worker.producer\n"
        "from worker.delivery import kombu_fix\n"
        "assert not kombu_fix.applied()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
