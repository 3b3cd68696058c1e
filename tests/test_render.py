from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import render
from store.models import Hit, SearchPage, StoredArticle
from store.search import highlight
from store.text import query_terms
from tests.helpers import telegram_html_text

NOW = datetime(2026, 11, 26, 12, 0)


def _article(**kw: object) -> StoredArticle:
    fields: dict[str, object] = dict(
        id=1,
        url="https://n.test/a?x=1&y=2",
        title="Bridge vote",
        source="Courier",
        source_url=None,
        published="2026-11-23",
        ingested_at="2026-11-25T10:00:00+00:00",
    )
    fields.update(kw)
    return StoredArticle(**fields)  # type: ignore[arg-type]


def _page(text: str, query: str = "bridge", n: int = 1, **kw: object) -> SearchPage:
    terms = set(query_terms(query))
    hits = tuple(
        Hit(
            text=text,
            score=1.0,
            article=_article(**kw),
            highlight=highlight(text, terms),
        )
        for _ in range(n)
    )
    return SearchPage(query=query, terms=tuple(terms), hits=hits, has_more=False)


def test_answer_has_quote_emphasis_title_link_source_and_age() -> None:
    text = "The vote was close. The council approved the bridge on Tuesday. Work starts soon."
    message = render.answer_html(_page(text, "bridge council"), now=NOW)
    assert message.startswith(
        "<blockquote>The vote was close. <i>The <b>council</b> approved "
        "the <b>bridge</b> on Tuesday.</i> Work starts soon.</blockquote>"
    )
    assert '<a href="https://n.test/a?x=1&amp;y=2">Bridge vote</a>' in message
    assert "Courier, 23 Nov 2026 (3 days ago)" in message
    telegram_html_text(message)


HOSTILE = [
    "<script>alert(1)</script> bridge & <b>bold</b> \"unbalanced 'quotes",
    "bridge " + "A" * 5000,
    "bridge &amp; &lt; &#x27; </blockquote> <a href='x'>",
    "bridge\n\n<i>\n\n" * 50,
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_escaped_and_fits(text: str) -> None:
    page = _page(
        text,
        "bridge",
        n=3,
        title="<b>Title & co</b>",
        source="<i>x</i>",
        url='https://n.test/"><script>',
    )
    message = render.answer_html(page, now=NOW)
    visible = telegram_html_text(message)
    assert render.utf16_len(message) <= 4096
    assert "<script>" in visible or "A" * 100 in visible or "<i>" in visible


def test_long_answers_are_shortened_at_word_boundaries_never_over_the_limit() -> None:
    text = " ".join(f"word{i}" for i in range(1500)) + " bridge finale."
    message = render.answer_html(_page(text, n=3), now=NOW)
    assert render.utf16_len(message) <= 4096
    quote = telegram_html_text(message).split("\n")[0]
    assert "bridge" in quote  # the matched part stays in view
    assert quote.startswith("…") and quote.endswith("finale.")
    for piece in quote.strip("…").split():
        assert piece.startswith("word") or piece in {"bridge", "finale."}


def test_emoji_count_double_towards_the_limit() -> None:
    text = "bridge " + "😀" * 3000
    message = render.answer_html(_page(text, n=2), now=NOW)
    assert render.utf16_len(message) <= 4096


def test_nothing_found_and_no_words() -> None:
    empty = SearchPage(query="zzz", terms=("zzz",), hits=(), has_more=False)
    assert render.answer_html(empty) == render.NOTHING_FOUND
    assert "Ask with a few words" in render.answer_html(
        SearchPage(query="?", terms=(), hits=(), has_more=False)
    )


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2026-11-26", "today"),
        ("2026-11-25", "yesterday"),
        ("2026-11-20", "6 days ago"),
        ("2026-11-12", "2 weeks ago"),
        ("2026-08-01", "3 months ago"),
        ("2024-01-01", "2 years ago"),
        ("2027-01-01", None),
        ("garbage", None),
        (None, None),
    ],
)
def test_age(when: str | None, expected: str | None) -> None:
    assert render.age(when, NOW) == expected


def test_article_without_date_shows_when_it_was_added() -> None:
    assert render.dated(_article(published=None), NOW) == "added 25 Nov 2026 (yesterday)"


def test_plain_text_rendering() -> None:
    page = _page("The council approved the bridge.", "bridge")
    text = render.answer_text(page, now=NOW)
    assert "> The council approved the bridge." in text
    assert "Bridge vote · Courier · 23 Nov 2026 (3 days ago)" in text
    assert "https://n.test/a?x=1&y=2" in text
    bold = render.answer_text(page, now=NOW, bold=True)
    assert "\033[1mbridge\033[0m" in bold


@given(text=st.text(min_size=1, max_size=3000), query=st.text(max_size=50))
def test_any_passage_renders_as_valid_telegram_html(text: str, query: str) -> None:
    terms = set(query_terms(query))
    hit = Hit(
        text=text,
        score=1.0,
        article=_article(title=text[:300]),
        highlight=highlight(text, terms),
    )
    page = SearchPage(query=query, terms=("x",), hits=(hit, hit, hit), has_more=False)
    message = render.answer_html(page, now=NOW)
    telegram_html_text(message)
    assert render.utf16_len(message) <= 4096


def test_cut_quote_is_a_substring_with_ellipses() -> None:
    text = "Alpha beta. " * 50 + "The bridge sentence. " + "Omega psi. " * 150
    hl = highlight(text, {"bridg"})
    quote = render.cut_quote(text, hl, 300)
    assert quote.text.startswith("…") and quote.text.endswith("…")
    assert quote.text.strip("…") in text
    s, e = quote.sentences[0]
    assert quote.text[s:e] == "The bridge sentence."


def test_missing_quoted_phrases_are_said_before_the_closest_matches() -> None:
    text = "The council approved the bridge on Tuesday."
    page = dataclasses.replace(
        _page(text, '"toll bridge" bridge'), missing_phrases=("toll bridge",)
    )
    note = "No stored article has “toll bridge” word for word. The closest matches:"
    assert telegram_html_text(render.answer_html(page, now=NOW)).startswith(note)
    assert render.answer_text(page, now=NOW).startswith(note + "\n\n1.")
    found = render.answer_html(_page(text, '"bridge"'), now=NOW)
    assert "word for word" not in found


def test_the_newest_news_is_said_to_be_that() -> None:
    text = "The council approved the bridge on Tuesday."
    page = dataclasses.replace(_page(text, "latest"), terms=(), newest=True)
    assert telegram_html_text(render.answer_html(page, now=NOW)).startswith(
        "The newest stored news:\n\n"
    )
    assert render.answer_text(page, now=NOW).startswith("The newest stored news:\n\n1.")


def test_a_period_asked_about_is_said() -> None:
    text = "The council approved the bridge on Tuesday."
    newest = dataclasses.replace(_page(text, "x"), terms=(), newest=True, period="yesterday")
    assert render.answer_text(newest, now=NOW).startswith("The newest stored news from yesterday:")
    empty = dataclasses.replace(newest, hits=())
    assert render.answer_text(empty, now=NOW) == "Nothing stored from yesterday yet."
    assert render.answer_html(empty, now=NOW) == "Nothing stored from yesterday yet."
    other = dataclasses.replace(
        _page(text, "bridge last week"), period="last week", outside_period=True
    )
    note = "Nothing stored from last week on that. The closest matches from other days:"
    assert telegram_html_text(render.answer_html(other, now=NOW)).startswith(note)
    within = dataclasses.replace(other, outside_period=False)
    assert "Nothing stored" not in render.answer_text(within, now=NOW)


def test_words_in_no_stored_article_are_said_after_the_quotes() -> None:
    text = "The council approved the bridge on Tuesday."
    page = dataclasses.replace(
        _page(text, "bridge bicycles <Paris>"), missing_words=("bicycles", "<Paris>")
    )
    note = "No stored article mentions “bicycles” or “<Paris>”."
    message = render.answer_html(page, now=NOW)
    assert message.endswith("<i>No stored article mentions “bicycles” or “&lt;Paris&gt;”.</i>")
    assert telegram_html_text(message).endswith(note)
    assert render.answer_text(page, now=NOW).endswith("\n\n" + note)
    one = dataclasses.replace(page, missing_words=("bicycles",))
    assert render.answer_text(one, now=NOW).endswith("No stored article mentions “bicycles”.")
    assert "mentions" not in render.answer_html(_page(text, "bridge"), now=NOW)
    many = dataclasses.replace(page, missing_words=tuple(f"w{n}" for n in range(8)))
    assert render.answer_text(many, now=NOW).endswith(
        "No stored article mentions “w0”, “w1”, “w2”, “w3”, “w4” or 3 more of your words."
    )


def test_a_respelled_word_is_said_with_what_was_searched_instead() -> None:
    text = "Thunberg began the strike."
    page = dataclasses.replace(
        _page(text, "Thunburg strike"),
        missing_words=("Thunburg",),
        respelled=(("Thunburg", "Thunberg"),),
    )
    assert render.answer_text(page, now=NOW).endswith(
        "No stored article mentions “Thunburg”. Searched for “Thunberg” instead."
    )
    several = dataclasses.replace(
        page,
        missing_words=("Thunburg", "bicycles", "Zamperonni"),
        respelled=(("Thunburg", "Thunberg"), ("Zamperonni", "Zamperoni")),
    )
    assert telegram_html_text(render.answer_html(several, now=NOW)).endswith(
        "No stored article mentions “Thunburg”, “bicycles” or “Zamperonni”. Searched for "
        "“Thunberg” and “Zamperoni” instead of “Thunburg” and “Zamperonni”."
    )


def test_quotes_from_one_article_in_a_row_share_one_attribution() -> None:
    text = "The council approved the bridge on Tuesday."
    first, second = _page(text, "bridge", n=2).hits
    other = _page(text, "bridge", id=2, url="https://n.test/b", title="Ferry plan").hits[0]
    page = SearchPage(query="bridge", terms=("bridg",), hits=(first, second, other), has_more=False)
    message = render.answer_html(page, now=NOW)
    assert message.count("<blockquote>") == 3
    assert message.count(">Bridge vote</a>") == 1
    assert message.count(">Ferry plan</a>") == 1
    # The shared attribution comes after the article's last quote, not between its quotes.
    assert message.index("</blockquote>\n\n<blockquote>") < message.index(">Bridge vote</a>")
    plain = render.answer_text(page, now=NOW)
    assert plain.count("Bridge vote") == 1 and plain.count("Ferry plan") == 1
    assert plain.index("2.") < plain.index("Bridge vote") < plain.index("3.")


def test_many_lines_fit_one_message_with_a_count_of_the_rest() -> None:
    lines = [f"Saved: <b>{'Long title ' * 18}{n}</b>" for n in range(60)]
    message = render.lines_html(lines)
    assert render.utf16_len(message) <= 4096
    kept = message.splitlines()
    assert kept[:-1] == lines[: len(kept) - 1]
    assert kept[-1] == f"…and {60 - (len(kept) - 1)} more."
    telegram_html_text(message)
    assert render.lines_html(lines[:3]) == "\n".join(lines[:3])
