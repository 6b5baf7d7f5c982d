"""`newsworker consume`: a consumer killed between printing and acknowledging loses nothing for
its group: the next `consume` (restarted under the stable default name, or another consumer
of the group once the entry is idle) gets the entry."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
import redis
from conftest import BIN, json_lines, namespace, newsworker, settings_overrides

from config import Settings
from worker.delivery.ledger import Keys, connect

N = 12


def _fill(settings: Settings) -> list[str]:
    """N entries on the stream, each ~40 KB, as the Redis sink writes them."""
    client = connect(settings)
    ids = []
    for i in range(N):
        ids.append(f"consumed-{i}")
        record = json.dumps({"id": ids[-1], "submission": "1", "text": "слово " * 6000})
        client.xadd(Keys(settings).stream, {"id": ids[-1], "record": record})
    return ids


def _pending(settings: Settings, group: str) -> int:
    try:
        return connect(settings).xpending(Keys(settings).stream, group)["pending"]
    except redis.ResponseError:  # no such group yet
        return 0


@pytest.mark.parametrize(
    ("name", "claim_idle"),
    [("elsewhere", 1), (None, 3600)],
    ids=["other-consumer-claims-idle-entries", "restart-under-default-name"],
)
def test_consumer_killed_between_print_and_ack_loses_nothing(name, claim_idle):
    env = namespace(consumer_claim_idle=claim_idle)
    settings = Settings(**settings_overrides(env))
    ids = _fill(settings)
    # Nobody reads its stdout: the pipe fills and the consumer blocks printing an entry, after
    # the entries before it were printed and acknowledged and before that one is.
    args = [str(BIN / "newsworker"), "consume", "--group", "g"]
    if name:
        args += ["--consumer", name]
    first = subprocess.Popen(
        args, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while _pending(settings, "g") == 0:
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(1.5)  # blocked in its write; entries idle beyond claim_idle=1
        assert first.poll() is None
        pending = _pending(settings, "g")
        assert pending > 0
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    printed = first.stdout.read().decode()  # type: ignore[union-attr]
    first.stdout.close()  # type: ignore[union-attr]
    whole = [json.loads(line)["id"] for line in printed.split("\n")[:-1]]  # last: cut short
    assert len(whole) < N

    second = newsworker("consume", "--group", "g", env=env)
    assert second.returncode == 0, second.stderr
    again = [r["id"] for r in json_lines(second.stdout)]
    assert sorted(set(whole) | set(again)) == sorted(ids)
    assert ids[len(whole)] in again  # the one being printed when it died
    assert len(again) == pending  # exactly the unacknowledged ones, nothing twice
    assert _pending(settings, "g") == 0


def test_default_consumer_name_is_stable():
    a = newsworker("consume", "--help").stdout
    assert "consume@HOST" in a
    from worker.consumer import default_consumer_name

    assert default_consumer_name() == default_consumer_name()
    assert str(os.getpid()) not in default_consumer_name()
