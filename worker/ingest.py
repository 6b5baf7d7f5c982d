"""Reading what users submit: files, directories, stdin → :class:`Submission` items.

The payload is kept exactly as read (bytes); the worker decodes and validates it, so a bad
payload reaches the dead-letter stream with its reason instead of being lost at the producer.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

Kind = Literal["json", "text", "html"]

SUFFIX_KIND: dict[str, Kind] = {
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}


@dataclass(frozen=True)
class Submission:
    id: str
    kind: Kind
    payload: bytes
    origin: str  # file name (and line) it came from, for messages


def derive_id(payload: bytes, kind: Kind) -> str:
    """The record's own ``id`` (a JSON string, or an integer as its decimal string; whole, of
    any length), else its ``url``, else a hash of the content."""
    if kind == "json":
        try:
            record = json.loads(payload)
        except ValueError:
            record = None
        if isinstance(record, dict):
            given = record.get("id")
            if isinstance(given, (str, int)) and not isinstance(given, bool) and str(given):
                return str(given)
            url = record.get("url")
            if isinstance(url, str) and url.strip():
                return _hash(url.strip().encode("utf-8", "replace"))
    return _hash(payload)


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def _items(data: bytes, kind: Kind, origin: str, lines: bool | None) -> Iterator[Submission]:
    """One submission per article: a JSON object, each element of a JSON array, each JSONL line.

    ``lines``: True for JSONL, False for one JSON document, None to tell by the content.
    """
    if kind != "json":
        yield Submission(derive_id(data, kind), kind, data, origin)
        return
    try:
        whole = json.loads(data)
    except ValueError:
        whole = None
    if isinstance(whole, list):
        for n, rec in enumerate(whole, 1):
            line = json.dumps(rec, ensure_ascii=False).encode()
            yield Submission(derive_id(line, kind), kind, line, f"{origin}[{n}]")
    elif whole is not None or lines is False or len(data.strip().splitlines()) <= 1:
        # One JSON document (or one undecodable line, which the worker will dead-letter).
        yield Submission(derive_id(data, kind), kind, data, origin)
    else:
        for n, line in enumerate(data.splitlines(), 1):
            if line.strip():
                yield Submission(derive_id(line, kind), kind, line, f"{origin}:{n}")


def _sniff(data: bytes) -> Kind:
    head = data.lstrip()[:200].lower()
    if head.startswith((b"{", b"[")):
        return "json"
    if head.startswith((b"<!doctype", b"<html", b"<?xml")) or b"<body" in head:
        return "html"
    return "text"


Refuse = Callable[[str, str], None]
"""Told of what is not submitted: (origin, reason)."""


def _refuse_loudly(origin: str, reason: str) -> None:
    raise ValueError(f"{origin}: {reason}")


def _lines(fh: BinaryIO, origin: str, limit: int | None, refuse: Refuse) -> Iterator[Submission]:
    """One submission per non-empty line, read one at a time; a line over ``limit`` bytes is
    refused without being kept."""
    for n, line in enumerate(iter(lambda: fh.readline(limit + 1 if limit else -1), b""), 1):
        if limit and len(line) > limit and not line.endswith(b"\n"):
            while (rest := fh.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass  # skip the rest of the line without keeping it
            refuse(f"{origin}:{n}", f"line over {limit} bytes (NEWSWORKER_MAX_FILE_BYTES)")
            continue
        if line.strip():
            line = line.rstrip(b"\r\n")
            yield Submission(derive_id(line, "json"), "json", line, f"{origin}:{n}")


def read_paths(
    paths: list[str], *, max_file_bytes: int | None = None, refused: Refuse | None = None
) -> Iterator[Submission]:
    """Yield submissions from files, directories (recursively, sorted) and ``-`` (stdin), one
    file at a time: a JSONL file line by line, any other file whole — unless it is over
    ``max_file_bytes``, which is told to ``refused`` (origin, reason) without being read, and the
    rest goes on (without ``refused``: a ValueError)."""
    refuse = refused or _refuse_loudly
    for raw in paths:
        if raw == "-":
            data = sys.stdin.buffer.read(max_file_bytes + 1 if max_file_bytes else -1)
            if max_file_bytes and len(data) > max_file_bytes:
                refuse("<stdin>", f"over {max_file_bytes} bytes (NEWSWORKER_MAX_FILE_BYTES)")
                continue
            yield from _items(data, _sniff(data), "<stdin>", None)
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIX_KIND)
        elif path.is_file():
            files = [path]
        else:
            raise FileNotFoundError(f"no such file or directory: {raw}")
        for file in files:
            suffix = file.suffix.lower()
            if suffix in (".jsonl", ".ndjson"):
                with open(file, "rb") as fh:
                    yield from _lines(fh, str(file), max_file_bytes, refuse)
                continue
            size = file.stat().st_size
            if max_file_bytes and size > max_file_bytes:
                refuse(
                    str(file), f"{size} bytes, over {max_file_bytes} (NEWSWORKER_MAX_FILE_BYTES)"
                )
                continue
            data = file.read_bytes()
            kind = SUFFIX_KIND.get(suffix) or _sniff(data)
            yield from _items(data, kind, str(file), False if suffix == ".json" else None)
