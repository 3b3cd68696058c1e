"""Property tests: hostile or random input never escapes as an exception, replies are valid
Telegram HTML within the limit, and every quote is verbatim from a stored article."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import extract, render
from bot.feeds import FeedError, parse_feed
from bot.service import store_config
from bot.settings import Settings, SettingsError, load_settings
from store.db import Store
from tests.helpers import article, telegram_html_text

FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)


@FUZZ
@given(
    texts=st.lists(st.text(min_size=1, max_size=2000), min_size=1, max_size=4),
    query=st.text(max_size=200),
)
def test_quotes_are_verbatim_and_replies_valid(
    tmp_path_factory: object, settings: Settings, texts: list[str], query: str
) -> None:
    store = Store(store_config(settings))
    stored = [article(title=t[:50] or "x", text=t, url=None) for t in texts]
    store.add_articles(stored)
    full_texts = [row[0] for row in store.conn.execute("SELECT text FROM articles")]
    long_words = [w for w in texts[0].split() if len(w) >= 6]
    # A typo of a stored word: respelled and said so, or named as missing.
    typo = [w[:2] + w[3] + w[2] + w[4:] for w in long_words[:1]]
    for q in (query, texts[0][:100], *typo):
        page = store.search(q, 3)
        for hit in page.hits:
            assert any(hit.text in full for full in full_texts)
        for typed, _ in page.respelled:
            assert typed in page.missing_words
        message = render.answer_html(page)
        telegram_html_text(message)
        assert render.utf16_len(message) <= 4096
    store.close()


@FUZZ
@given(
    html=st.one_of(
        st.text(max_size=3000),
        st.binary(max_size=3000).map(lambda b: b"<html><body><p>" + b + b"</p></body></html>"),
    )
)
def test_any_html_extracts_or_says_why(html: str | bytes) -> None:
    try:
        result = extract.from_html(html, url="https://fuzz.test/page")
    except extract.ExtractError as e:
        assert str(e)
    else:
        assert result.text.strip()


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=2000),
        st.text(max_size=1000).map(
            lambda t: (
                "<?xml version='1.0'?><rss version='2.0'><channel><title>"
                + t
                + "</title><item><title>"
                + t
                + "</title><guid>g</guid><description>"
                + t
                + "</description></item></channel></rss>"
            ).encode("utf-8", "surrogatepass")
        ),
    )
)
def test_any_feed_document_parses_or_says_why(body: bytes) -> None:
    try:
        parsed = parse_feed(body, "https://fuzz.test/feed")
    except FeedError as e:
        assert str(e)
    else:
        assert all(entry.key for entry in parsed.entries)


@FUZZ
@given(
    line=st.one_of(
        st.text(max_size=500),
        st.dictionaries(
            st.sampled_from(["url", "title", "published", "text", "source", "x"]),
            st.one_of(st.none(), st.integers(), words, st.lists(st.integers())),
        ),
    )
)
def test_any_jsonl_line_is_an_article_or_a_reason(line: object) -> None:
    try:
        record = json.loads(line) if isinstance(line, str) else line
    except json.JSONDecodeError:
        return  # the CLI reports "not valid JSON" for these
    try:
        result = extract.from_record(record)
    except extract.ExtractError as e:
        assert str(e)
    else:
        assert result.text.strip() and result.title


@FUZZ
@given(
    table=st.sampled_from(["search", "fetch", "access", "alerts", "feeds", "nope"]),
    key=st.sampled_from(["max_results", "k1", "allow_private_urls", "ask", "jitter", "zz"]),
    value=st.one_of(
        st.integers(),
        st.floats(allow_nan=False),
        st.booleans(),
        words,
        st.lists(st.integers(), max_size=3),
    ),
)
def test_any_settings_value_loads_or_is_named(
    tmp_path_factory: object, table: str, key: str, value: object
) -> None:
    import tempfile

    rendered = json.dumps(value) if not isinstance(value, bool) else str(value).lower()
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        f.write(f"[{table}]\n{key} = {rendered}\n")
    try:
        load_settings(Path(f.name), environ={})
    except SettingsError as e:
        assert str(e)
    finally:
        Path(f.name).unlink()
