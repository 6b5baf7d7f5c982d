"""Page metadata (title, date, author, language): each test is a small excerpt of a page of the
dev sets (``../shared/eval/clean``), cut to the structure that failed."""

from __future__ import annotations

import pytest

from worker.clean import clean
from worker.schema import RawArticle

BODY = (
    "<p>Electric cars have come a long way in the past decade, and the choice of models is wider "
    "than it has ever been for buyers at every budget.</p>"
    "<p>Range, charging speed and price are the three numbers most buyers compare first, and "
    "each of them has improved year after year.</p>"
    "<p>This guide walks through what to look for before you buy, new or used, and where the "
    "real costs of owning one hide.</p>"
)


def page(head: str, body: str) -> RawArticle:
    return RawArticle(html=f"<html><head>{head}</head><body>{body}</body></html>")


# --- titles ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "top", "title"),
    [
        # wcxb/dev/4053: the SEO title and JSON-LD headline word it otherwise than the <h1>
        # the reader sees; they agree on half the words
        (
            "<title>Full EV Cars in 2025: Best Models, Range &amp; Buying Guide</title>"
            '<meta property="og:title" content="Full EV Cars in 2025: Best Models, Range & '
            'Buying Guide">',
            "<h1>Full EV Cars: 2025 Guide to Fully Electric Vehicles</h1>",
            "Full EV Cars: 2025 Guide to Fully Electric Vehicles",
        ),
        # wcxb/dev/0126: the first <h1> is the site's logo, a link home; og:site_name names it
        (
            "<title>Certificate vs Certification | Stanford Online</title>"
            '<meta property="og:site_name" content="Stanford Online">',
            '<h1 class="site-name"><a href="/" rel="home"><span>Stanford Online</span></a></h1>'
            "<h1>Certificate vs Certification</h1>",
            "Certificate vs Certification",
        ),
        # wcxb/dev/0441: the same logo <h1>, linked to the blog's home page, no og:site_name
        (
            "<title>Engora Data Blog: Small adventures with small language models</title>"
            '<meta property="og:title" content="Small adventures with small language models">',
            "<h1><a href='https://blog.engora.com/'>Engora Data Blog</a></h1>"
            "<h1>Small is the new large</h1>",
            "Small adventures with small language models",
        ),
        # wcxb/dev/4624: a two-word og:title that the <title> repeats before the site's name
        (
            "<title>Local Trails - Blue Line Bike Lab Houston Texas</title>"
            '<meta property="og:title" content="Local Trails">',
            "",
            "Local Trails",
        ),
        # wcxb/dev/4475: an <h1> in capitals (the site's style) is not preferred to the title
        (
            "<title>Best Drip Coffee Maker 2026: Buying Tips From Coffee Pros</title>",
            "<h1>BEST DRIP COFFEE MAKER IN 2026: BUYING TIPS FROM COFFEE PROS</h1>",
            "Best Drip Coffee Maker 2026: Buying Tips From Coffee Pros",
        ),
        # wcxb/dev/0330: the byline inside the <h1> ("Posted on July 1, 2024 by …")
        (
            "<title>Top Strategies to Optimize Blockchain Performance and Security</title>",
            "<h1>Top Strategies to Optimize Blockchain Performance and Security Posted on "
            "July 1, 2024 by infuy</h1>",
            "Top Strategies to Optimize Blockchain Performance and Security",
        ),
    ],
)
def test_the_headline_by_agreement_of_title_og_and_h1(head, top, title):
    assert clean(page(head, f"{top}<article>{BODY}</article>")).title == title


# --- dates -------------------------------------------------------------------------------------


def test_a_publication_date_meta_under_another_name_the_earliest_wins():
    # wcxb/dev/4512: no article:published_time; "published-date" is the article's, while
    # "published-time" is the time the page was rendered
    head = (
        "<title>Emerging technologies to tackle climate change</title>"
        '<meta name="published-time" content="2026-03-09T08:45:32.183Z">'
        '<meta name="modified-date" content="2024-07-30">'
        '<meta name="published-date" content="2021-02-16">'
    )
    assert clean(page(head, f"<article>{BODY}</article>")).published_at == "2021-02-16"


def test_a_page_that_gives_only_its_last_change_is_dated_by_it():
    # wcxb/dev/4271: article:modified_time is the only date the page has
    head = (
        "<title>Portfolio work</title>"
        '<meta property="article:modified_time" content="2023-06-12T16:04:11+00:00">'
    )
    cleaned = clean(page(head, f"<article>{BODY}</article>"))
    assert cleaned.published_at == cleaned.modified_at == "2023-06-12T16:04:11+00:00"


# --- authors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "top", "author"),
    [
        # wcxb/dev/4860: the byline is a link to the author's page, its slug the name
        (
            "<title>Best Website Builders for Small Business in 2026</title>",
            '<h1>Best Website Builders for Small Business in 2026</h1><div class="summary">'
            '<a href="https://www.thesmallbusinessexpo.com/author/zach-lezberg/" '
            'class="the-author"><span>Zach Lezberg</span></a> | <span>Updated</span></div>',
            "Zach Lezberg",
        ),
        # readability/firefox-nightly-blog: the slug is a user name ("mconleymozilla-com")
        (
            "<title>These Weeks in Firefox: Issue 85</title>",
            '<h1>These Weeks in Firefox: Issue 85</h1><address><a href="https://blog.nightly.'
            'mozilla.org/author/mconleymozilla-com/" title="Posts by Mike Conley">Mike Conley'
            "</a></address>",
            "Mike Conley",
        ),
        # wcxb/dev/4030: the name only in a <meta> of a mailing tool ("sailthru.author")
        (
            '<title>The 5 Best Gooseneck Kettles</title><meta name="sailthru.author" '
            'content="Jesse Porter">',
            "<h1>The 5 Best Gooseneck Kettles</h1>",
            "Jesse Porter",
        ),
    ],
)
def test_the_author_from_a_byline_link_or_another_meta(head, top, author):
    cleaned = clean(page(head, f"{top}<article>{BODY}</article>"))
    assert (cleaned.author, cleaned.authors) == (author, [author])


def test_a_link_to_an_author_page_that_does_not_name_the_author_is_no_byline():
    # wcxb/dev/4295: "Learn More" links to /author/paramita-ghosh/
    top = (
        '<h1>Data strategy</h1><a href="https://example.com/author/paramita-ghosh/">Learn More</a>'
    )
    assert (
        clean(page("<title>Data strategy</title>", f"{top}<article>{BODY}</article>")).author
        is None
    )


def test_an_ordinal_date_in_a_byline_above_the_body():
    # wcxb/dev/0245: "September 1st, 2023 By Emily Norwood" under the <h1>, no date metadata
    top = (
        "<h1>The best tutoring franchises of 2024</h1>"
        "<div>September 1st, 2023 By Emily Norwood</div>"
    )
    raw = page(
        "<title>The best tutoring franchises of 2024</title>", f"{top}<article>{BODY}</article>"
    )
    assert clean(raw).published_at == "2023-09-01"
