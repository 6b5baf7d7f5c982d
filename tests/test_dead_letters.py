"""Bad input ends in the dead-letter stream, with its reason and original payload."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pty
import struct
import subprocess
import termios
import time

from conftest import BIN, Worker, json_lines, namespace, newsworker, settings_overrides

from config import Settings
from worker.delivery.ledger import Ledger
from worker.delivery.protocol import ORDINARY, Ref

BAD = {
    b"this is not json": "not valid JSON",
    b"[1, 2, 3]": "not an object",
    b'{"title": "no body"}': "needs a non-empty 'text' or 'html'",
    b'{"text": 5}': "text",
    b'{"text": "   \\n  "}': "needs a non-empty 'text' or 'html'",
    b'{"html": "<html><body><script>var a = 1;</script></body></html>"}': "empty",
}


def test_bad_payloads_are_dead_lettered(tmp_path, running_worker, settings):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(BAD) + b"\n")
    done = newsworker("submit", str(path), "--wait", "--timeout", "120")
    assert done.returncode == 0, done.stderr + running_worker.tail()
    assert json.loads(done.stdout) == {
        "submitted": 6,
        "queued": 6,
        "duplicates": 0,
        "processed": 0,
        "dead": 6,
        "pending": 0,
    }
    listed = json_lines(newsworker("dead", "-n", "1000").stdout)
    by_payload = {d["payload"].encode(): d for d in listed}
    for payload, reason in BAD.items():
        entry = by_payload[payload]
        assert reason in entry["reason"], entry
        assert entry["stage"] == "clean"
    # The worker is still alive and still processes good articles.
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"id": "good-after-bad", "text": "Путин прилетел в Сочи. " * 5}))
    ok = newsworker("submit", str(good), "--wait", "--timeout", "120")
    assert json.loads(ok.stdout)["processed"] == 1, ok.stdout + running_worker.tail()


def test_retry_dead_resubmits_the_original_payload(tmp_path, running_worker, ledger):
    path = tmp_path / "retry.json"
    path.write_text('{"id": "retry-me", "html": "<html><body><p></p></body></html>"}')
    assert json.loads(newsworker("submit", str(path), "--wait").stdout)["dead"] == 1
    before = [d for d in ledger.dead_entries() if d.id == "retry-me"]
    assert len(before) == 1
    out = newsworker("retry-dead")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["retried"] >= 1
    # Same payload, same verdict: dead again, exactly once, with the same payload.
    for _ in range(240):
        again = [d for d in ledger.dead_entries() if d.id == "retry-me"]
        if again and again[0].entry_id != before[0].entry_id:
            break
        time.sleep(0.25)
    assert len(again) == 1 and again[0].payload == before[0].payload


def test_a_batch_over_its_time_limit_is_split_and_only_the_slow_article_dies(tmp_path):
    """Eight articles in one batch, one of them so long that the entities stage runs over the
    time limit: the batch is split, the seven short ones are processed, the long one alone is
    dead-lettered with the time limit as its reason."""
    env = namespace(task_time_limit=1.5, batch_size=8, max_text_chars=2_000_000,
                    dead_payload_bytes=3_000_000)  # fmt: skip
    settings = Settings(**settings_overrides(env))
    short = "Владимир Путин провёл в Сочи переговоры с президентом Турции. Встреча длилась час."
    names = "Путин, Эрдоган, Меркель, Макрон, Москва, Анкара, Берлин, Париж, «Газпром», ООН. "
    articles = [{"id": f"split-{i}", "text": short} for i in range(7)]
    articles.insert(3, {"id": "split-slow", "text": names * 20_000})  # ~1.6 MB of entities
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(json.dumps(a, ensure_ascii=False) for a in articles) + "\n")
    worker = Worker(tmp_path / "w.log", concurrency=1, env=env).start()
    try:
        out = newsworker("submit", str(path), "--wait", "--timeout", "300", env=env)
        counts = json.loads(out.stdout)
        assert (counts["processed"], counts["dead"]) == (7, 1), out.stdout + worker.tail()
        assert "batch_split" in worker.log.read_text(errors="replace")
    finally:
        worker.stop()
    [dead] = [d for d in Ledger(settings).dead_entries() if d.id.startswith("split-")]
    assert dead.id == "split-slow" and "time limit" in dead.reason, dead
    assert json.loads(dead.payload)["text"].startswith("Путин, Эрдоган")


def test_a_dead_letter_keeps_at_most_dead_payload_bytes_with_size_and_sha256(tmp_path):
    """A 300 KB payload dead-lettered with NEWSWORKER_DEAD_PAYLOAD_BYTES=1000 keeps its first
    1000 bytes, its size and its sha256; `dead` lists newest first, cuts payloads on a terminal
    (not in a pipe), and retry-dead leaves the cut one alone."""
    env = namespace(dead_payload_bytes=1000)
    store = Ledger(Settings(**settings_overrides(env)))
    big = ("{" + '"text": "' + "ы" * 150_000 + '"}').encode()
    small = b'{"text": "small"}'
    for aid, payload in (("cap-big", big), ("cap-small", small)):
        ref = Ref(aid, "json", ORDINARY)
        store.admit([(ref, payload)])
        assert store.dead_letter(ref, stage="clean", reason="test")
    listed = json_lines(newsworker("dead", env=env).stdout)
    assert [d["id"] for d in listed] == ["cap-small", "cap-big"]  # newest first
    cut = listed[1]
    assert cut["payload_bytes"] == len(big) and cut["payload_truncated"] is True
    assert cut["payload_sha256"] == hashlib.sha256(big).hexdigest()
    [entry] = [e for e in store.dead_entries() if e.id == "cap-big"]
    assert entry.payload == big[:1000]
    assert listed[0]["payload"] == small.decode() and listed[0]["payload_truncated"] is False

    # On a terminal: each line cut to about the terminal's width.
    main, replica = pty.openpty()
    fcntl.ioctl(replica, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(
        [str(BIN / "newsworker"), "dead"], env={**os.environ, **env}, stdout=replica,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(replica)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the other end closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    assert proc.wait(30) == 0
    lines = [json.loads(line) for line in shown.decode().splitlines() if line.strip()]
    assert [d["id"] for d in lines] == ["cap-small", "cap-big"]
    assert lines[1]["payload"].endswith("…") and len(lines[1]["payload"]) <= 81

    out = newsworker("retry-dead", env=env)
    assert json.loads(out.stdout) == {"retried": 1} and "not retried" in out.stderr
    assert [e.id for e in store.dead_entries()] == ["cap-big"]
