"""Reading what users submit: files, directories, stdin → :class:`Submission` items.

The payload is kept exactly as read (bytes); the worker decodes and validates it, so a bad
payload reaches the dead-letter stream with its reason instead of being lost at the producer.
Two exceptions, both about encodings (see :func:`transcode`): ``submit --encoding`` decodes
here, and JSON with a byte-order mark is turned into UTF-8 (JSON Lines split on bytes).

Suffixes match in any case (``.HTML``). A file of another type given by path is refused
(:class:`Unsupported`); in a folder it is skipped, and counted (:class:`Scan`). An empty file,
or JSON Lines of blank lines, yields nothing and is noted as empty.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from worker import charsets
from worker.fetch.urls import url_key

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


class Unsupported(ValueError):
    """A file given by path whose type newsworker does not read."""


@dataclass
class Scan:
    """What reading found besides submissions: files skipped (unsupported types in a folder)
    and files with nothing to submit."""

    skipped: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Submission:
    id: str
    kind: Kind
    payload: bytes
    origin: str  # file name (and line) it came from, for messages


def derive_id(payload: bytes, kind: Kind) -> str:
    """The record's own ``id``, else its ``url``, else a hash of the content."""
    if kind == "json":
        try:
            record = json.loads(payload)
        except ValueError:
            record = None
        if isinstance(record, dict):
            given = record.get("id")
            if isinstance(given, (str, int)) and not isinstance(given, bool) and str(given):
                return str(given)[:200]
            url = record.get("url")
            if isinstance(url, str) and url.strip():
                return id_for_url(url)
    return _hash(payload)


def id_for_url(url: str) -> str:
    """The id of the article at ``url``: one for all its variants (see worker.fetch.urls)."""
    return _hash(url_key(url).encode("utf-8", "replace"))


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def _items(data: bytes, kind: Kind, origin: str, lines: bool | None) -> Iterator[Submission]:
    """One submission per article: a JSON object, each element of a JSON array, each JSONL line.

    ``lines``: True for JSONL, False for one JSON document, None to tell by the content.
    """
    if not data.strip() or not data.removeprefix(codecs.BOM_UTF8).strip():
        return  # nothing to submit
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


def transcode(data: bytes, kind: Kind, encoding: str | None, origin: str) -> bytes:
    """``data`` as UTF-8 when its encoding is forced (``encoding``) or, for JSON, given by a
    byte-order mark; else unchanged (the worker detects it). A page gets a UTF-8 byte-order
    mark, which outranks the ``<meta charset>`` it may still carry."""
    if encoding is None:
        bom = charsets.bom_encoding(data) if kind == "json" else None
        return data.decode(bom).encode() if bom else data
    name = charsets.normal_name(encoding)
    if name is None:
        raise ValueError(f"unknown encoding: {encoding}")
    try:
        text = data.decode(name)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{origin} is not valid {encoding}: {exc}") from None
    return (("\ufeff" if kind == "html" else "") + text.removeprefix("\ufeff")).encode()


def supported(path: Path) -> bool:
    return path.suffix.lower() in SUFFIX_KIND or not path.suffix


def read_paths(
    paths: list[str], *, encoding: str | None = None, scan: Scan | None = None
) -> Iterator[Submission]:
    """Yield submissions from files, directories (recursively, sorted) and ``-`` (stdin).

    ``encoding`` forces the files' encoding; ``scan`` collects skipped and empty files.
    Raises :class:`Unsupported` for a file of an unsupported type given by path,
    ``ValueError`` for one that is not in the forced encoding.
    """
    scan = scan if scan is not None else Scan()
    for raw in paths:
        if raw == "-":
            data = sys.stdin.buffer.read()
            kind = _sniff(data)
            yield from _read(
                transcode(data, kind, encoding, "<stdin>"), kind, "<stdin>", None, scan
            )
            continue
        path = Path(raw)
        if path.is_dir():
            files = []
            for p in sorted(p for p in path.rglob("*") if p.is_file()):
                if p.suffix.lower() in SUFFIX_KIND:
                    files.append(p)
                else:
                    scan.skipped.append(str(p))
        elif path.is_file():
            if not supported(path):
                known = ", ".join(SUFFIX_KIND)
                raise Unsupported(
                    f"{raw}: {path.suffix} files are not supported (newsworker reads {known}, "
                    "and files without a suffix by their content)"
                )
            files = [path]
        else:
            raise FileNotFoundError(f"no such file or directory: {raw}")
        for file in files:
            data = file.read_bytes()
            suffix = file.suffix.lower()
            kind = SUFFIX_KIND.get(suffix) or _sniff(data)
            lines = {".json": False, ".jsonl": True, ".ndjson": True}.get(suffix)
            yield from _read(
                transcode(data, kind, encoding, str(file)), kind, str(file), lines, scan
            )


def _read(
    data: bytes, kind: Kind, origin: str, lines: bool | None, scan: Scan
) -> Iterator[Submission]:
    n = 0
    for n, item in enumerate(_items(data, kind, origin, lines), 1):  # noqa: B007
        yield item
    if n == 0:
        scan.empty.append(origin)
