"""A synthetic reprint check built from news pages (``../shared/eval/clean/daniel_ru_dev.jsonl``).

Each page is published once as crawled (its HTML through the clean stage), then its article
(the clean stage's text of it: some references in the file are imperfect) is republished
``COPIES`` times the way wire copy is: a new headline, the last paragraph cut, one sentence
changed, and another site's chrome around it (the menus and footers of a page from another
domain: its ``page_text`` lines of at most ``CHROME_WORDS`` words that are not in its
``gold_text``), submitted as scraped text
and cleaned like any article. Everything goes through the grouping step as one stream
(originals first, then the copies round by round, so copies of different articles interleave),
against a fresh namespace of the real Redis index.

- ``duplicate_of`` recall: copies whose ``duplicate_of`` is an earlier publication of the same
  article (``to_original``: the original itself).
- false links: ``duplicate_of`` pointing at another article, as a share of all pairs of
  different articles (and as a count). Some pages of the file are themselves reprints of one
  wire story (three sites with one LETA text): articles whose originals' clean texts share at
  least half of the smaller one's 4-shingles (counted exactly) are one article here
  (``reprints_in_corpus`` counts those pairs).
- stories: copies in the original's story; stories that hold more than one article.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from pathlib import Path

from config import Settings
from worker import clean
from worker.entities import extract
from worker.errors import BadArticle
from worker.evaluate import counted
from worker.nlp import load_nlp
from worker.schema import RawArticle
from worker.stories.group import group_signature
from worker.stories.index import StoryIndex
from worker.stories.signatures import shingles, signature
from worker.text import sentences

COPIES = 5
HEADLINES = (
    "{lead}",
    "Срочно: {lead}",
    "{lead} — подробности",
    "Новости дня. {lead}",
    "{lead}: что известно",
)


CHROME_WORDS = 15  # a longer line of a page outside its article is prose (comments), not chrome


def _chrome(page: dict) -> tuple[list[str], list[str]]:
    """A page's chrome: its flattened text's short lines (menus, links, related headlines,
    footers) that are not in its reference text, split into what stands above the article and
    what stands below it."""
    gold = {line.strip() for line in page["gold_text"].splitlines() if line.strip()}
    lines = [
        line.strip()
        for line in page["page_text"].splitlines()
        if line.strip() and len(line.split()) <= CHROME_WORDS
    ]
    inside = [i for i, line in enumerate(lines) if line in gold]
    if not inside:
        return [], []
    top = [x for x in lines[: inside[0]] if x not in gold]
    bottom = [x for x in lines[inside[-1] + 1 :] if x not in gold]
    return top, bottom


def _change(sentence: str, rng: random.Random) -> str:
    """One sentence reworded: a word in three dropped, an attribution appended."""
    words = sentence.rstrip(".!?").split()
    kept = [w for i, w in enumerate(words) if i % 3 != 2] or words
    return " ".join(kept) + rng.choice(
        (", сообщает агентство.", ", говорится в сообщении.", ", передают СМИ.")
    )


def republish(article: str, copy: int, other: dict, rng: random.Random) -> str:
    """The ``copy``-th reprint of ``article`` (clean text) on the site of the page ``other``
    (as scraped text)."""
    paragraphs = [p.strip() for p in article.split("\n\n") if p.strip()]
    if len(paragraphs) > 1:
        paragraphs = paragraphs[:-1]  # the last paragraph cut
    elif paragraphs:  # one paragraph: its last sentence cut
        sents = [s.text for s in sentences(paragraphs[0])]
        paragraphs = [" ".join(sents[:-1]) or paragraphs[0]]
    body = " ".join(paragraphs)
    all_sents = [(i, s.text) for i, p in enumerate(paragraphs) for s in sentences(p)]
    if all_sents:
        i, sent = all_sents[rng.randrange(len(all_sents))]
        paragraphs[i] = paragraphs[i].replace(sent, _change(sent, rng), 1)
    first = sentences(body)[0].text if body.strip() else "Новости"
    lead = " ".join(first.split()[:9]).rstrip(",.:;")
    headline = HEADLINES[copy % len(HEADLINES)].format(lead=lead)
    top, bottom = _chrome(other)
    return "\n\n".join([*top, headline, *paragraphs, *bottom])


def _corpus_reprints(originals: dict[int, str]) -> dict[int, int]:
    """Each original's article: itself, or the lowest-numbered original it is (transitively) a
    reprint of by exact 4-shingle containment ≥ 0.5."""
    grams = {n: shingles(text) for n, text in originals.items()}
    parent = {n: n for n in originals}

    def find(n: int) -> int:
        while parent[n] != n:
            n = parent[n]
        return n

    keys = sorted(grams)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            small = min(len(grams[a]), len(grams[b]))
            if small and len(grams[a] & grams[b]) / small >= 0.5:
                ra, rb = find(a), find(b)
                parent[max(ra, rb)] = min(ra, rb)
    return {n: find(n) for n in originals}


def evaluate(path: Path, settings: Settings, progress: bool = True) -> dict:
    from worker.bench import bench_redis
    from worker.delivery.ledger import connect

    with Path(path).open(encoding="utf-8") as lines:
        pages = [json.loads(line) for line in lines if line.strip()]
    rng = random.Random(15)
    stream: list[tuple[str, int, str | None, str]] = []  # (id, family, title, text)
    failed = 0
    for n, page in enumerate(pages):
        try:
            c = clean.clean(RawArticle(html=page["html"], url=page["url"]))
        except BadArticle:
            failed += 1
            continue
        stream.append((f"p{n}", n, c.title, c.text))
    originals = {fam: text for _, fam, _, text in stream}
    rounds: list[list[tuple[str, int, str | None, str]]] = [[] for _ in range(COPIES)]
    for n, page in enumerate(pages):
        if n not in originals:
            continue
        others = [p for p in pages if p["domain"] != page["domain"]]
        for k in range(COPIES):
            other = others[rng.randrange(len(others))]
            text = republish(originals[n], k, other, rng)
            try:
                c = clean.clean(RawArticle(text=text, url=f"https://{other['domain']}/{n}-{k}"))
            except BadArticle:
                failed += 1
                continue
            rounds[k].append((f"p{n}-r{k}", n, c.title, c.text))
    for batch in rounds:
        stream.extend(batch)
    nlp = load_nlp()
    sigs = []
    for _, _, title, text in counted(stream, progress):
        found = extract(text, nlp).entities
        entities = [(e.type, e.normal, e.salience) for e in found]
        sigs.append(signature(title, text, entities, dictionary=nlp.dictionary))
    merged = _corpus_reprints(originals)
    family = {article_id: merged[fam] for article_id, fam, _, _ in stream}
    with bench_redis(settings, lambda m: None) as live:
        client = connect(live)
        prefix = f"{live.key_prefix}-eval-{uuid.uuid4().hex[:8]}:grp"
        index = StoryIndex(client, prefix, 72 * 3600)
        groups = {}
        try:
            now = time.time()
            start = time.perf_counter()
            for i, ((article_id, _, title, _), sig) in enumerate(zip(stream, sigs)):
                groups[article_id] = group_signature(
                    index, article_id, sig, title=title, now=now + i * 1e-3
                )
            seconds = time.perf_counter() - start
        finally:
            keys = list(client.scan_iter(f"{prefix}:*", count=1000))
            for i in range(0, len(keys), 500):
                client.delete(*keys[i : i + 500])
    copies = [a for a, _, _, _ in stream if "-r" in a]
    hits = sum(
        1
        for a in copies
        if groups[a].duplicate_of is not None and family[groups[a].duplicate_of] == family[a]
    )
    to_original = sum(1 for a in copies if groups[a].duplicate_of == f"p{a.split('-')[0][1:]}")
    missed = [a for a in copies if groups[a].duplicate_of is None]
    false = [
        a
        for a, g in groups.items()
        if g.duplicate_of is not None and family[g.duplicate_of] != family[a]
    ]
    sizes: dict[int, int] = {}
    for article_id, _, _, _ in stream:
        sizes[family[article_id]] = sizes.get(family[article_id], 0) + 1
    n = len(stream)
    different_pairs = n * (n - 1) // 2 - sum(s * (s - 1) // 2 for s in sizes.values())
    story_members: dict[str, set[int]] = {}
    for a, g in groups.items():
        story_members.setdefault(g.story.id, set()).add(family[a])
    same_story = sum(1 for a in copies if groups[a].story.id == groups[a.split("-")[0]].story.id)
    return {
        "pages": len(pages),
        "articles": n,
        "copies": len(copies),
        "not_cleaned": failed,
        "duplicate_of_recall": round(hits / len(copies), 4) if copies else None,
        "duplicate_of_to_original": round(to_original / len(copies), 4) if copies else None,
        "false_links": len(false),
        "different_article_pairs": different_pairs,
        "false_link_rate": round(len(false) / different_pairs, 6) if different_pairs else None,
        "copies_in_original_story": round(same_story / len(copies), 4) if copies else None,
        "stories": len(story_members),
        "stories_mixing_articles": sum(1 for fams in story_members.values() if len(fams) > 1),
        "ms_per_article": round(1000 * seconds / n, 2),
        "reprints_in_corpus": sum(1 for n, m in merged.items() if n != m),
        "false_link_examples": [[a, groups[a].duplicate_of] for a in false[:10]],
        "missed_examples": missed[:10],
    }
