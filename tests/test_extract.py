from __future__ import annotations

import pytest

from bot import extract
from tests.helpers import DATA


def test_html_keeps_the_article_and_drops_the_boilerplate() -> None:
    art = extract.from_html(
        (DATA / "article.html").read_bytes(),
        url="https://bay-gazette.test/news/piel-ferry-suspended",
    )
    assert art.title == "Ferry service to Piel Island suspended after storm damage"
    assert art.text.startswith("The ferry to Piel Island will not run")
    assert "Alan Tyson" in art.text
    for junk in (
        "Skip to main content",
        "Share on Facebook",
        "Accept all cookies",
        "All rights reserved",
        "Most read",
        "Council tax to rise",
    ):
        assert junk not in art.text
    assert art.source == "Bay Gazette"
    assert art.published == "2026-11-25"
    assert art.canonical_url == "https://bay-gazette.test/news/piel-ferry-suspended"
    assert "\n\n" in art.text  # paragraphs kept


def test_a_canonical_link_to_another_site_is_not_trusted() -> None:
    page = (DATA / "article.html").read_text().replace("bay-gazette.test", "evil.test")
    art = extract.from_html(page, url="https://bay-gazette.test/news/x")
    assert art.canonical_url == "https://bay-gazette.test/news/x"


@pytest.mark.parametrize(
    "page",
    [
        "",
        "<html></html>",
        "<html><body><script>var a = 1;</script></body></html>",
        "<<<>>>&&&",
        "\x00\x01\x02",
        "<p>Subscribe to read</p>",
    ],
)
def test_pages_without_an_article_give_a_clear_reason(page: str) -> None:
    with pytest.raises(extract.ExtractError, match=r"no article text|could not be read"):
        extract.from_html(page, url="https://x.test/")


def test_broken_html_still_extracts() -> None:
    body = "<p>" + "The lifeboat crew rescued two walkers stranded by the tide. " * 6
    page = f"<html><head><title>Walkers rescued</title><body><div>{body}<div><p>unclosed"
    art = extract.from_html(page)
    assert "lifeboat crew" in art.text


def test_text_first_line_becomes_the_title_when_it_looks_like_one() -> None:
    art = extract.from_text((DATA / "note.txt").read_text())
    assert art.title == "Bus fares in Harrow to be capped at two pounds"
    assert art.text.startswith("Single bus fares")
    untitled = extract.from_text("The tide was high. " * 3 + "\nAnd more text follows here now.")
    assert untitled.title == "The tide was high."


def test_markdown_loses_its_markup() -> None:
    art = extract.from_text((DATA / "brief.md").read_text(), markdown=True)
    assert art.title == "Harrow market moves indoors for the winter"
    assert "[Gwen Holloway]" not in art.text and "Gwen Holloway" in art.text


def test_empty_text_is_refused() -> None:
    with pytest.raises(extract.ExtractError):
        extract.from_text("   \n  ")


def test_json_records() -> None:
    art = extract.from_record(
        {
            "url": "https://n.test/a?utm_medium=x",
            "title": None,
            "published": "2026-03-01T10:00:00+02:00",
            "text": "Otters returned to the river. Volunteers counted six.",
            "extra": 1,
        }
    )
    assert art.title == "Otters returned to the river."
    assert art.published == "2026-03-01T08:00:00"
    assert art.canonical_url == "https://n.test/a"
    assert art.source == "n.test"


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ([], "JSON object"),
        ({"title": "x"}, "text"),
        ({"text": ""}, "text"),
        ({"text": "x", "url": "ftp://a/b"}, "url"),
        ({"text": "x", "url": 5}, "url"),
        ({"text": "x", "published": "not a date"}, "published"),
    ],
)
def test_bad_records_say_what_is_wrong(record: object, reason: str) -> None:
    with pytest.raises(extract.ExtractError, match=reason):
        extract.from_record(record)


def test_dates() -> None:
    assert extract.parse_date("2026-11-20") == "2026-11-20"
    assert extract.parse_date("Tue, 24 Nov 2026 10:00:00 GMT") == "2026-11-24T10:00:00"
    assert extract.parse_date("yesterday-ish") is None
    assert extract.parse_date(None) is None
