"""What a page says of itself in its <meta> tags."""

from __future__ import annotations

from lxml import etree


def meta_tags(tree: etree._Element) -> dict[str, str]:
    """The page's <meta> contents by name, property or itemprop (lowercased; the first wins)."""
    out: dict[str, str] = {}
    for el in tree.iter("meta"):
        name = el.get("property") or el.get("name") or el.get("itemprop")
        content = el.get("content")
        if name and content and content.strip():
            out.setdefault(name.strip().lower(), content)
    return out
