"""A user's files in other encodings go through the real pipeline as their UTF-8 twins do."""

from __future__ import annotations

import json

from conftest import json_lines, newsworker

from worker.ingest import derive_id


def test_cp1251_koi8_and_bom_files_are_processed_like_utf8(tmp_path, running_worker, dev_pages):
    # Not the sample, nor a page other tests submit in this namespace: reprint grouping would
    # make theirs a duplicate of this one.
    text = dev_pages[-1]["gold_text"].replace("«", '"').replace("»", '"')
    text = "".join(c for c in text if c.isascii() or "а" <= c.lower() <= "я" or c in "ёЁ\n")
    files = {
        "utf8.txt": text.encode("utf-8"),
        "cp1251.txt": text.encode("cp1251"),
        "koi8.txt": text.encode("koi8-r"),
        "utf16.txt": text.encode("utf-16"),  # with its byte-order mark
    }
    page = "<html><head><title>t</title></head><body>" + "".join(
        f"<p>{line}</p>" for line in text.splitlines() if line.strip()
    ) + "</body></html>"  # fmt: skip
    files["nocharset.html"] = page.encode("cp1251")
    files["utf8.html"] = page.encode("utf-8")
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    out = newsworker("submit", str(tmp_path), "--wait", "--timeout", "300")
    assert out.returncode == 0, out.stderr + running_worker.tail()
    assert json.loads(out.stdout)["processed"] == len(files), out.stdout
    consumed = json_lines(newsworker("consume", "--group", "encodings").stdout)
    by_id = {r["id"]: r for r in consumed}
    kind = {"txt": "text", "html": "html"}
    texts = {
        name: by_id[derive_id(data, kind[name.rsplit(".", 1)[1]])]["text"]  # type: ignore[arg-type]
        for name, data in files.items()
    }
    assert texts["cp1251.txt"] == texts["koi8.txt"] == texts["utf16.txt"] == texts["utf8.txt"]
    assert texts["nocharset.html"] == texts["utf8.html"]
