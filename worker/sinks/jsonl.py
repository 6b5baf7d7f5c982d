"""JSONL sink: one line per record, appended under an exclusive lock and fsynced.

Several worker processes may share the file: each takes ``flock`` before appending and first
reads what others appended since its last look, so it knows every (id, submission) in the
file and never writes one twice. A line torn by a crash mid-write is cut off before the next
append, so the file only ever holds whole lines.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Sequence
from pathlib import Path

from config import Settings
from worker.errors import SinkUnavailable
from worker.schema import Record


class JsonlSink:
    name = "jsonl"

    def __init__(self, settings: Settings) -> None:
        self.path = Path(settings.jsonl_path)
        self._seen: set[tuple[str, str]] = set()
        self._offset = 0

    def _catch_up(self, fd: int) -> None:
        """Index the lines appended since the last look; cut a torn last line."""
        size = os.fstat(fd).st_size
        if size < self._offset:  # the file was truncated or replaced: start over
            self._seen.clear()
            self._offset = 0
        data = os.pread(fd, size - self._offset, self._offset)
        whole = data.rfind(b"\n") + 1
        for line in data[:whole].splitlines():
            try:
                rec = json.loads(line)
                self._seen.add((str(rec["id"]), str(rec.get("submission", "1"))))
            except (ValueError, KeyError, TypeError):
                continue
        self._offset += whole
        if whole < len(data):
            os.ftruncate(fd, self._offset)

    def refusal(self, record: Record) -> str | None:
        return None

    def write(self, records: Sequence[Record]) -> list[bool]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SinkUnavailable(f"jsonl: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._catch_up(fd)
            written, lines = [], []
            for record in records:
                key = (record.id, record.submission)
                written.append(key not in self._seen)
                if written[-1]:
                    self._seen.add(key)
                    lines.append(record.model_dump_json() + "\n")
            if lines:
                data = "".join(lines).encode()
                os.write(fd, data)
                os.fsync(fd)
                self._offset += len(data)
            return written
        except OSError as exc:
            self._seen.clear()  # what it noted may not have reached the file: read it again
            self._offset = 0
            raise SinkUnavailable(f"jsonl: {exc}") from exc
        finally:
            os.close(fd)  # also releases the lock

    def discard(self, records: Sequence[Record]) -> None:
        """An append-only file cannot take a line back (see the README: what it may hold)."""

    def close(self) -> None:
        pass
