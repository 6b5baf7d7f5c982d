"""What `submit` and `process` read: files, directories, stdin; ids given or derived."""

from __future__ import annotations

import json

from conftest import namespace, settings_overrides

from worker.delivery.protocol import Ref
from worker.ingest import derive_id, read_paths


def test_kinds_by_suffix_and_one_item_per_record(tmp_path):
    (tmp_path / "a.txt").write_text("Текст статьи.", encoding="utf-8")
    (tmp_path / "b.html").write_text("<html><body><p>Текст</p></body></html>")
    (tmp_path / "c.jsonl").write_text('{"id": "x1", "text": "a"}\n\n{"id": "x2", "text": "b"}\n')
    (tmp_path / "d.json").write_text(json.dumps([{"text": "one"}, {"text": "two"}]))
    (tmp_path / "e.json").write_text('{\n  "id": "pretty",\n  "text": "c"\n}\n')
    (tmp_path / "ignored.png").write_bytes(b"\x89PNG")
    items = list(read_paths([str(tmp_path)]))
    assert [i.kind for i in items] == ["text", "html", "json", "json", "json", "json", "json"]
    assert [i.id for i in items][2:4] == ["x1", "x2"]
    assert items[6].id == "pretty"
    assert json.loads(items[4].payload) == {"text": "one"}


def test_ids_are_deterministic():
    with_url = b'{"url": "https://example.ru/a", "text": "x"}'
    same_url = b'{"url": "https://example.ru/a", "text": "changed"}'
    assert derive_id(with_url, "json") == derive_id(same_url, "json")
    assert derive_id(b'{"id": 17, "text": "x"}', "json") == "17"
    assert derive_id(b"abc", "text") == derive_id(b"abc", "text") != derive_id(b"abd", "text")
    # Bad JSON still gets an id (the worker dead-letters it with the reason).
    assert len(derive_id(b"{broken", "json")) == 32


def test_undecodable_jsonl_lines_are_kept_one_by_one(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"text": "ok"}\nnot json at all\n{"text": "ok2"}\n')
    items = list(read_paths([str(path)]))
    assert [i.payload for i in items] == [b'{"text": "ok"}', b"not json at all", b'{"text": "ok2"}']


def test_the_same_article_twice_in_one_submission_is_queued_once(tmp_path):
    from config import Settings
    from worker.delivery.ledger import Ledger
    from worker.producer import submit

    # A namespace no worker consumes: the shared worker would process (and free) the payload.
    settings = Settings(**settings_overrides(namespace()))
    ledger = Ledger(settings)
    path = tmp_path / "twice.jsonl"
    path.write_text('{"id": "same-twice", "text": "a"}\n{"id": "same-twice", "text": "a"}\n')
    done = submit(read_paths([str(path)]), settings)
    assert list(done.queued) == ["same-twice"] and done.duplicates == ["same-twice"]
    [payload] = ledger.payloads([Ref("same-twice", "json", done.queued["same-twice"])])
    assert payload == b'{"id": "same-twice", "text": "a"}'


def test_empty_files_yield_nothing_and_are_noted(tmp_path):
    from worker.ingest import Scan

    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.jsonl").write_text("\n  \n\n")
    (tmp_path / "spaces.html").write_text("   \n")
    scan = Scan()
    assert list(read_paths([str(tmp_path)], scan=scan)) == []
    assert sorted(scan.empty) == sorted(
        str(tmp_path / n) for n in ("empty.txt", "blank.jsonl", "spaces.html")
    )


def test_unsupported_types_are_refused_by_path_and_skipped_in_folders(tmp_path):
    import pytest

    from worker.ingest import Scan, Unsupported

    (tmp_path / "report.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / "paper.PDF").write_bytes(b"%PDF-1.4")
    (tmp_path / "page.HTML").write_text("<html><body><p>Текст</p></body></html>")
    (tmp_path / "note.TXT").write_text("Текст")
    with pytest.raises(Unsupported, match=r"\.docx files are not supported"):
        list(read_paths([str(tmp_path / "report.docx")]))
    scan = Scan()
    items = list(read_paths([str(tmp_path)], scan=scan))
    assert [i.kind for i in items] == ["text", "html"]
    assert len(scan.skipped) == 2


def test_a_forced_encoding_gives_the_text_of_the_utf8_file(tmp_path):
    text = "Президенты поговорили о Корее"
    (tmp_path / "utf8.txt").write_text(text, encoding="utf-8")
    (tmp_path / "cp.txt").write_bytes(text.encode("cp1251"))
    [utf8] = read_paths([str(tmp_path / "utf8.txt")])
    [forced] = read_paths([str(tmp_path / "cp.txt")], encoding="cp1251")
    assert forced.payload == utf8.payload and forced.id == utf8.id
    page = f"<html><head><meta charset='koi8-r'></head><body>{text}</body></html>"
    (tmp_path / "p.html").write_bytes(page.encode("cp1251"))
    [html] = read_paths([str(tmp_path / "p.html")], encoding="cp1251")
    from worker import charsets

    assert charsets.decode(html.payload, html=True)[0] == page  # the BOM outranks the meta


def test_url_variants_are_one_id():
    a = b'{"url": "https://www.site.ru/a/1.html", "text": "x"}'
    b = b'{"url": "https://m.site.ru/a/1.html?utm_source=tg", "text": "x"}'
    assert derive_id(a, "json") == derive_id(b, "json")


def test_an_over_limit_file_is_refused_unread_and_the_rest_goes_on(tmp_path):
    (tmp_path / "a.txt").write_text("Текст статьи.", encoding="utf-8")
    with open(tmp_path / "b-huge.txt", "wb") as fh:
        fh.truncate(2 * 1024**3)  # 2 GB (sparse): read whole, this test would not end well
    (tmp_path / "c.jsonl").write_bytes(
        b'{"text": "a"}\n{"text": "' + b"x" * 5000 + b'"}\n{"text": "b"}\n'
    )
    refused: list[tuple[str, str]] = []
    items = list(read_paths([str(tmp_path)], max_file_bytes=1000,
                            refused=lambda *r: refused.append(r)))  # fmt: skip
    assert [i.payload for i in items] == [
        "Текст статьи.".encode(),
        b'{"text": "a"}',
        b'{"text": "b"}',
    ]
    assert [origin for origin, _ in refused] == [
        str(tmp_path / "b-huge.txt"),
        f"{tmp_path / 'c.jsonl'}:2",
    ]
    assert "NEWSWORKER_MAX_FILE_BYTES" in refused[0][1]
