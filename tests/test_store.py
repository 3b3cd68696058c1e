from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rank_bm25 import BM25Plus

from bot.service import store_config
from bot.settings import Settings
from store import search as search_module
from store.db import AsyncStore, Store, StoreError
from store.models import AddStatus
from store.text import query_terms
from tests.helpers import article, document_frequencies

HOSTILE_QUERIES = [
    "",
    "   ",
    '"',
    '""',
    "AND(",
    "OR",
    "NOT",
    "NEAR(a b)",
    "*",
    "a*",
    "^bridge",
    "col:bridge",
    "bridge'; DROP TABLE articles; --",
    "😀🔥",
    "\x00\x01",
    "(",
    ")",
    "{bridge}",
    "-bridge",
    "x" * 10_000,
    "bridge " * 2_000,
    "[]",
    "\\",
    "%_%",
]


def _store(settings: Settings) -> Store:
    return Store(store_config(settings))


def test_same_url_is_stored_once_and_new_text_replaces_passages(settings: Settings) -> None:
    store = _store(settings)
    first = article(
        url="https://news.test/a?utm_source=x",
        text="The ferry was cancelled "
        "because of the storm. Passengers were told to return tomorrow morning.",
    )
    again = article(url="https://news.test/a", text=first.text)
    edited = article(
        url="https://news.test/a#top",
        text="The ferry will run again on Friday "
        "after the storm passed. Tickets from the cancelled trip remain valid.",
    )
    assert store.add_articles([first])[0].status is AddStatus.SAVED
    assert store.add_articles([again])[0].status is AddStatus.DUPLICATE
    result = store.add_articles([edited])[0]
    assert result.status is AddStatus.UPDATED
    assert store.stats().articles == 1
    texts = [h.text for h in store.search("ferry cancelled storm", 5).hits]
    assert texts and all("Friday" in t for t in texts)
    assert store.search("passengers tomorrow morning", 5).hits == ()


def test_same_text_under_another_url_is_already_stored(settings: Settings) -> None:
    store = _store(settings)
    a = article(url="https://one.test/story")
    b = article(url="https://two.test/copy", text="  " + a.text.upper().replace(".", "!") + "\n")
    assert store.add_articles([a])[0].status is AddStatus.SAVED
    assert store.add_articles([b])[0].status is AddStatus.DUPLICATE
    assert store.stats().articles == 1


def test_text_without_words_is_not_stored(settings: Settings) -> None:
    store = _store(settings)
    assert store.add_articles([article(text="... !!! ---")])[0].status is AddStatus.EMPTY
    assert store.stats().articles == 0


def test_articles_survive_reopening(settings: Settings) -> None:
    store = _store(settings)
    store.add_articles([article(url="https://news.test/harbour")])
    store.close()
    reopened = _store(settings)
    hit = reopened.search("harbour sea wall", 3).hits[0]
    assert hit.article.url == "https://news.test/harbour"
    assert "sea wall" in hit.text


def test_empty_corpus_and_unknown_words_find_nothing(settings: Settings) -> None:
    store = _store(settings)
    assert store.search("anything at all", 3).hits == ()
    store.add_articles([article()])
    assert store.search("zeppelin", 3).hits == ()
    assert store.search("the of and", 3).terms == ()


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_any_text_is_a_valid_query(settings: Settings, query: str) -> None:
    store = _store(settings)
    store.add_articles(
        [
            article(
                title="Bridge vote",
                text="The council voted on the bridge. "
                "Work on the bridge starts in March next year.",
            )
        ]
    )
    page = store.search(query, 3)
    assert len(page.hits) <= 3


@hsettings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=300))
def test_no_query_raises(settings: Settings, query: str) -> None:
    store = _store(settings)
    if store.stats().articles == 0:
        store.add_articles([article()])
    store.search(query, 3)


CORPUS = [
    (
        "Council approves footbridge",
        "The council approved a new footbridge over the river. "
        "Building work on the footbridge starts in March and will take a year.",
    ),
    (
        "River levels rise",
        "Heavy rain raised the river to its highest level this year. "
        "Homes near the river were warned about flooding.",
    ),
    (
        "Football club wins cup",
        "The town football club won the county cup on Saturday. "
        "Fans celebrated in the market square until late.",
    ),
    (
        "Library reopens",
        "The library reopened with a new reading room. "
        "Plans for the footbridge are on show in the library hall.",
    ),
    (
        "Rail strike",
        "Train drivers will strike for three days in December over pay. "
        "The operator will run one train an hour.",
    ),
]


def test_ranking_on_a_hand_checked_corpus(settings: Settings) -> None:
    store = _store(settings)
    store.add_articles(
        [article(title=t, text=x, url=f"https://n.test/{i}") for i, (t, x) in enumerate(CORPUS)]
    )
    titles = [
        h.article.title for h in store.search("When does work on the footbridge start?", 3).hits
    ]
    assert titles[:2] == ["Council approves footbridge", "Library reopens"]
    assert [h.article.title for h in store.search("train drivers pay", 3).hits] == ["Rail strike"]
    assert store.search("flooding river homes", 1).hits[0].article.title == "River levels rise"


def _exhaustive(store: Store, query: str, k: int) -> list[tuple[int, float]]:
    ids, docs = zip(*store.all_passage_terms(), strict=True)
    bm25 = BM25Plus(list(docs), delta=0.0)
    scores = bm25.get_scores(query_terms(query))
    ranked = sorted(zip(ids, scores, strict=True), key=lambda x: (-x[1], -x[0]))
    return [(i, float(s)) for i, s in ranked[:k] if s > 0]


@pytest.mark.parametrize(
    "query",
    ["footbridge river", "river", "council cup train strike", "library reading room footbridge"],
)
def test_scores_equal_exhaustive_bm25_over_all_passages(settings: Settings, query: str) -> None:
    store = _store(settings)
    # "river" is in more than half of these passages (negative idf in plain Okapi).
    extra = [
        (
            "River walk " + str(i),
            f"People walked by the river on day {i}. The river was calm and the weather mild.",
        )
        for i in range(6)
    ]
    store.add_articles(
        [
            article(title=t, text=x, url=f"https://n.test/{i}")
            for i, (t, x) in enumerate(CORPUS + extra)
        ]
    )
    ours = store.rank(query, 10)
    theirs = _exhaustive(store, query, 10)
    assert [i for i, _ in ours] == [i for i, _ in theirs]
    assert [round(s, 6) for _, s in ours] == [round(s, 6) for _, s in theirs]


def test_results_per_article_are_capped(settings: Settings) -> None:
    store = _store(settings)
    long_text = "\n\n".join(
        f"Paragraph {i} is about the lighthouse keeper and the lighthouse lamp. " * 6
        for i in range(6)
    )
    store.add_articles(
        [
            article(title="Lighthouse", text=long_text, url="https://n.test/l"),
            article(
                title="Keeper retires",
                text="The lighthouse keeper retired after forty years of service.",
                url="https://n.test/k",
            ),
        ]
    )
    hits = store.search("lighthouse keeper", 5).hits
    assert store.config.search.max_per_article == 3
    assert [h.article.title for h in hits].count("Lighthouse") == 3
    assert "Keeper retires" in [h.article.title for h in hits]


def test_near_identical_passages_collapse_into_also_reported_by(settings: Settings) -> None:
    store = _store(settings)
    text = (
        "The regional airport will close its second runway for repairs from Monday, "
        "the operator said. Flights will be moved to the main runway during the work."
    )
    store.add_articles(
        [
            article(title="Runway closes", text=text, url="https://a.test/1", source="Wire A"),
            article(
                title="Runway to close",
                text=text + " Delays are expected.",
                url="https://b.test/1",
                source="Wire B",
            ),
        ]
    )
    hits = store.search("airport runway repairs", 3).hits
    assert len(hits) == 1
    assert [a.source for a in hits[0].also_reported_by] == ["Wire B"] or [
        a.source for a in hits[0].also_reported_by
    ] == ["Wire A"]


def test_highlight_marks_terms_and_the_sentence_that_answers(settings: Settings) -> None:
    store = _store(settings)
    store.add_articles(
        [
            article(
                url="https://n.test/harbour",
                title="Harbour",
                text="Boats came back on Monday. The sea wall "
                "repairs cost two million pounds. Fishermen were pleased.",
            ),
            article(
                url="https://n.test/cup",
                title="Harrow Athletic reach the county cup final",
                text="Harrow Athletic won the county cup semi-final against Lune Rovers on "
                "Saturday, a first county cup final for the Harrow team. The winning team is "
                "coached by Mira Okafor. Fans celebrated in the market square.",
            ),
        ]
    )
    hit = store.search("how much did the sea wall repairs cost", 1).hits[0]
    ((s, e),) = hit.highlight.sentences
    assert hit.text[s:e] == "The sea wall repairs cost two million pounds."
    marked = [hit.text[a:b] for a, b in hit.highlight.terms]
    assert marked == ["sea", "wall", "repairs", "cost"]
    hit = store.search("Who coaches the Harrow team that won the county cup semi-final?", 1).hits[0]
    ((s, e),) = hit.highlight.sentences
    # Not the first sentence, which holds the most of the question's words: the one naming
    # who coaches.
    assert hit.text[s:e] == "The winning team is coached by Mira Okafor."


def test_a_hyphenated_name_is_matched_whole(settings: Settings) -> None:
    store = _store(settings)
    texts = {
        "scattered": "The COVID ward had 19 beds, and the clinic reported new cases of flu.",
        "whole": "The clinic reported new COVID-19 cases on Monday, its first this month.",
    }
    store.add_articles(
        [
            article(url=f"https://n.test/{name}", title="Clinic figures", text=text)
            for name, text in texts.items()
        ]
    )
    hits = store.search("new COVID-19 cases at the clinic", 2).hits
    assert [h.article.url for h in hits] == ["https://n.test/whole", "https://n.test/scattered"]
    assert "COVID-19" in [hits[0].text[a:b] for a, b in hits[0].highlight.terms]
    # "covid" alone still finds the hyphenated name.
    assert "https://n.test/whole" in [h.article.url for h in store.search("covid cases", 2).hits]


@pytest.mark.parametrize(
    ("others", "text", "question", "marked", "short_question"),
    [
        # A decimal number is one term: "4.2" is not any 4 and any 2.
        (
            "The council approved 4 projects and 2 repairs.",
            "The council approved a bridge costing 4.2 million.",
            "Which council project costs 4.2 million?",
            "4.2",
            "4.2",
        ),
        # "US" in capitals is the country ("U.S."), not the stop word "us".
        (
            "Tell us what you think of the airline.",
            "The U.S. widened its sanctions on the airline.",
            "What did the US say about the airline?",
            "U.S.",
            "What did the US say?",
        ),
    ],
)
def test_numbers_and_names_are_matched_as_written(
    settings: Settings, others: str, text: str, question: str, marked: str, short_question: str
) -> None:
    store = _store(settings)
    store.add_articles(
        [
            article(url="https://n.test/other", title="News", text=others),
            article(url="https://n.test/right", title="News", text=text),
        ]
    )
    hits = store.search(question, 2).hits
    assert hits[0].article.url == "https://n.test/right"
    assert marked in [hits[0].text[a:b] for a, b in hits[0].highlight.terms]
    only = store.search(short_question, 2).hits
    assert [h.article.url for h in only] == ["https://n.test/right"]


def _ferry_articles() -> list[Any]:
    return [
        article(
            url="https://n.test/scattered",
            title="Harbour ferry timetable and harbour works",
            text="The harbour ferry timetable changes on Monday. Harbour works close the "
            "north quay, so the ferry uses the south quay, a spokesman for the harbour said.",
        ),
        article(
            url="https://n.test/phrase",
            title="Island news",
            text="Council meets on Tuesday. Residents asked about the ferry timetable for the "
            "winter. A harbour spokesman said the ferry timetable would follow next week.",
        ),
    ]


def test_a_quoted_phrase_is_honoured(settings: Settings) -> None:
    store = _store(settings)
    store.add_articles(_ferry_articles())
    # Unquoted, both articles answer (the first has all the words, apart) ...
    unquoted = store.search("harbour spokesman ferry timetable", 2)
    assert {h.article.url for h in unquoted.hits} == {
        "https://n.test/scattered",
        "https://n.test/phrase",
    }
    # ... quoted, only passages holding the phrase word for word.
    page = store.search('"harbour spokesman" ferry timetable', 2)
    assert [h.article.url for h in page.hits] == ["https://n.test/phrase"]
    assert "A harbour spokesman said the ferry timetable" in page.hits[0].text
    assert page.missing_phrases == ()
    curly = store.search("“Harbour spokesman” ferry", 2)
    assert [h.article.url for h in curly.hits] == ["https://n.test/phrase"]


def test_a_quoted_phrase_found_nowhere_is_said_with_the_closest_matches(
    settings: Settings,
) -> None:
    store = _store(settings)
    store.add_articles(_ferry_articles())
    page = store.search('"ferry captain" harbour timetable', 2)
    assert page.missing_phrases == ("ferry captain",)
    assert len(page.hits) == 2  # the closest matches, without the phrase
    assert page.missing_words == ()  # "captain" is in no article, but the phrase says so


def test_words_in_no_stored_article_are_told(settings: Settings) -> None:
    store = _store(settings)
    store.add_articles(_ferry_articles())
    page = store.search("Is the ferry timetable changing for the COVID-19 cycling Festivals?", 2)
    assert page.hits
    assert page.missing_words == ("COVID-19", "cycling", "Festivals")
    assert store.search("harbour ferry timetable", 2).missing_words == ()
    nothing = store.search("cycling festivals", 2)
    assert nothing.hits == () and nothing.missing_words == ()


@pytest.mark.parametrize("newer", ["https://n.test/first", "https://n.test/second"])
def test_equal_scores_put_the_newer_article_first(settings: Settings, newer: str) -> None:
    store = _store(settings)
    dates = {newer: "2026-11-20"}
    # The same words, as many, in another order: equal scores, shown once with "also".
    store.add_articles(
        [
            article(url=url, title="Ferry", text=text, published=dates.get(url, "2026-11-02"))
            for url, text in [
                ("https://n.test/first", "The island ferry sails at noon on weekdays."),
                ("https://n.test/second", "On weekdays the island ferry sails at noon."),
            ]
        ]
    )
    (hit,) = store.search("island ferry noon", 3).hits
    assert hit.article.url == newer
    assert len(hit.also_reported_by) == 1


def _add_stories(store: Store, stories: list[tuple[str, str, str, str]]) -> None:
    """(name, title, text, publication day) each, at https://n.test/<name>."""
    store.add_articles(
        [
            article(url=f"https://n.test/{name}", title=title, text=text, published=day)
            for name, title, text, day in stories
        ]
    )


def test_asking_for_the_latest_puts_the_newest_close_match_first(settings: Settings) -> None:
    store = _store(settings)
    stories = [
        (
            "old",
            "Rail strike called",
            "Rail workers called a rail strike over pay. The rail "
            "strike starts on Monday, the union said.",
            "2026-11-02",
        ),
        (
            "new",
            "Rail strike talks",
            "Talks to end the rail strike resumed on Thursday, with "
            "the union and the operator meeting in Leeds.",
            "2026-11-24",
        ),
        (
            "newest",
            "Ferry timetable",
            "The island ferry keeps its winter timetable despite the strike.",
            "2026-11-25",
        ),
    ]
    _add_stories(store, stories)
    plain = [h.article.url for h in store.search("rail strike", 3).hits]
    assert plain[:2] == ["https://n.test/old", "https://n.test/new"]
    page = store.search("What's the latest on the rail strike?", 3)
    # The newest of the close matches first, not the ferry story, which barely matches.
    assert [h.article.url for h in page.hits][:2] == ["https://n.test/new", "https://n.test/old"]
    assert page.query == "What's the latest on the rail strike?"
    assert page.missing_words == ()  # "latest" says when, not what, to look for
    recent = store.search("most recent news of the rail strike", 3).hits
    assert recent[0].article.url == "https://n.test/new"


def test_a_month_named_with_its_year_puts_that_months_story_first(settings: Settings) -> None:
    store = _store(settings)
    # The earlier report matches the question's words a little better; the month decides.
    warning = (
        "A harbour flood warning went out when the old harbour wall cracked under the spring "
        "tide, the council said."
    )
    flood = (
        "Boats sank in the harbour flood after a storm cracked the sea wall; the council said "
        "a warning came too late to save them."
    )
    _add_stories(
        store,
        [
            ("march", "Harbour flood warning", warning, "2019-03-12"),
            ("september", "Harbour flood", flood, "2019-09-03"),
        ],
    )
    plain = [h.article.url for h in store.search("harbour flood warning wall", 2).hits]
    assert plain == ["https://n.test/march", "https://n.test/september"]
    dated = store.search("Why did the harbour flood in September 2019 wall warning?", 2)
    assert [h.article.url for h in dated.hits] == [
        "https://n.test/september",
        "https://n.test/march",
    ]
    assert dated.missing_words == ()  # no text says "September 2019": the dates do
    # Only a preference: a month with no story of its own changes nothing.
    other = store.search("harbour flood warning wall in June 2021", 2).hits
    assert [h.article.url for h in other] == plain


_LEAD = "The council approved the new footbridge over the Lune on Tuesday."
_COST = "The footbridge will cost 2 million pounds and open in May, the council said."
_COPIES = {
    # A shorter copy: its short passage scores a little better by itself.
    "trimmed": (
        f"{_LEAD} {_COST} Work starts in March. The old crossing closes for good in April.",
        f"{_COST} {_LEAD}",
    ),
    # The agency's edit: its own words for the day and the speaker, its own closing line.
    "lightly edited": (
        "The council approved the new footbridge over the Lune on Tuesday, after two years"
        " of delays. The footbridge will cost 2 million pounds and open in May, the council"
        " said. Work starts in March, and the old crossing closes for good in April. Cyclists"
        " will share the deck with walkers.",
        "Lancaster council yesterday approved the new footbridge over the Lune, after two"
        " years of delays. The footbridge will cost 2 million pounds and open in May, a"
        " council spokesperson told the agency.",
    ),
}


@pytest.mark.parametrize("kind", _COPIES)
def test_a_copy_comes_behind_the_fuller_report(settings: Settings, kind: str) -> None:
    store = _store(settings)
    full, copy = _COPIES[kind]
    _add_stories(
        store,
        [
            ("full", "Footbridge approved", full, "2026-11-02"),
            ("copy", "Footbridge approved", copy, "2026-11-20"),  # newer, too
        ],
    )
    page = store.search("How much will the footbridge over the Lune cost?", 2)
    assert [h.article.url for h in page.hits] == ["https://n.test/full", "https://n.test/copy"]
    if "Lancaster" in copy:
        # A copy holding a word of the question that the fuller report lacks is no copy as
        # far as the question goes.
        page = store.search("How much will the Lancaster footbridge over the Lune cost?", 2)
        assert page.hits[0].article.url == "https://n.test/copy"


def test_an_update_with_new_figures_is_no_copy_of_the_older_report(settings: Settings) -> None:
    store = _store(settings)
    search = " Rescuers searched the coast off Lamu overnight for the ferry's passengers."
    rest = (
        " The vessel carried 80 passengers and a crew of six. Its operator has suspended the"
        " service. Relatives gathered at the harbour. The coastguard blamed rough seas and an"
        " overloaded deck. The governor promised an inquiry into safety checks. Fishing boats"
        " joined the search at dawn."
    )
    _add_stories(
        store,
        [
            (
                "first",
                "Ferry sinks",
                f"A ferry sank off Lamu on Tuesday and 20 people died.{search}{rest}",
                "2026-11-02",
            ),
            # Its sentences are the first report's but for the new toll: not a copy.
            (
                "update",
                "Ferry toll rises",
                f"A ferry sank off Lamu on Tuesday and 31 people died.{search}",
                "2026-11-03",
            ),
        ],
    )
    page = store.search("How many people died when the ferry sank off Lamu?", 2)
    assert [h.article.url for h in page.hits] == ["https://n.test/update", "https://n.test/first"]
    assert "31 people died" in page.hits[0].text


def test_a_nationality_word_finds_its_country(settings: Settings) -> None:
    store = _store(settings)
    _add_stories(
        store,
        [
            (
                name,
                "Minister resigns",
                f"The farm minister of {country} resigned over the pension reform.",
                day,
            )
            for name, country, day in [
                ("france", "France", "2026-11-02"),
                ("chile", "Chile", "2026-11-20"),
            ]
        ],
    )
    page = store.search("Why did the French farm minister resign?", 2)
    # Without "France" for "French" the two tie, and the newer (Chile) would come first.
    assert [h.article.url for h in page.hits] == ["https://n.test/france", "https://n.test/chile"]
    hit = page.hits[0]
    assert "France" in [hit.text[a:b] for a, b in hit.highlight.terms]
    assert page.missing_words == ()  # "French" is in no article, but "France" is
    # "Chileans" is found as "Chile"; "forestry" is in no article, and said so.
    assert store.search("Chileans in forestry", 2).missing_words == ("forestry",)


def test_a_removed_article_is_gone_for_good_and_may_be_stored_again(settings: Settings) -> None:
    store = _store(settings)
    heron = article(
        url="https://news.test/heron",
        title="Purple heron seen",
        text="A purple heron was seen in the reed beds at Leighton Moss on Monday.",
    )
    fair = article(
        url="https://news.test/fair",
        title="Winter fair opens",
        text="The winter fair opened in the market square with a brass band.",
    )
    store.add_articles([heron, fair])
    store.add_subscription(1, 1, "purple heron", "instant")
    later = article(
        url="https://other.test/heron",
        title="Purple heron stays on",
        text="The purple heron stayed a second week, feeding at dawn by the visitor hide.",
    )
    store.add_articles([later])
    store.match_new_articles(100)
    assert store.pending_alerts("9999", 10)  # an alert about the later story waits

    removed = store.remove_article(["https://other.test/heron"])
    assert removed is not None and removed.title == "Purple heron stays on"
    assert store.pending_alerts("9999", 10) == []  # no alert about a removed article
    gone = store.remove_article(["https://news.test/heron?utm_source=x", "https://news.test/heron"])
    assert gone is not None and gone.url == "https://news.test/heron"
    assert store.remove_article(["https://news.test/heron"]) is None
    assert store.search("purple heron", 3).hits == ()
    assert store.stats().articles == 1
    assert "heron" not in {t for (t,) in store.conn.execute("SELECT term FROM term_stats")}
    assert dict(store.conn.execute("SELECT term, df FROM term_stats")) == document_frequencies(
        store.conn
    )
    assert store.integrity_problems() == []
    store.close()

    again = _store(settings)  # after a restart: still gone, and the fair still answers
    assert again.search("purple heron", 3).hits == ()
    assert again.search("brass band fair", 3).hits[0].article.url == "https://news.test/fair"
    (result,) = again.add_articles([heron])
    assert result.status == AddStatus.SAVED
    assert again.search("purple heron", 3).hits[0].article.url == "https://news.test/heron"


def test_a_question_naming_a_subject_gets_the_article_about_it(settings: Settings) -> None:
    store = _store(settings)
    council = [
        (f"council{i}", f"Council meeting {i}", f"The council met on day {i} about the budget.", "")
        for i in range(6)
    ]
    _add_stories(
        store,
        [
            (
                "dorian",
                "Hurricane Dorian leaves the Bahamas",
                "As the slow storm finally cleared the islands yesterday, the damage Dorian left "
                "began to emerge. Dorian had stalled over Grand Bahama for a day and a half.",
                "2019-09-05",
            ),
            (
                "humberto",
                "Tropical Storm Humberto strengthens",
                "Humberto became the third hurricane of the season on Sunday. It followed "
                "Hurricane Dorian, which hit the Bahamas in late August.",
                "2019-09-16",
            ),
            *council,
        ],
    )
    # Dorian's sentences all repeat its subject, so none scores high on its own; the
    # article about Humberto names Dorian once, in a sentence that does.
    for question in ["Hurricane Dorian", "Tell me about Hurricane Dorian"]:
        hit = store.search(question, 1).hits[0]
        assert hit.article.url == "https://n.test/dorian", question
        assert hit.text.startswith("As the slow storm finally cleared the islands"), question


def test_the_word_news_in_a_question_is_not_looked_for(settings: Settings) -> None:
    store = _store(settings)
    talks = "Talks to end the rail strike resume on Monday, the union said."
    presser = "At a news conference the council set out its budget, not the rail strike."
    store.add_articles(
        [
            article(url="https://n.test/talks", title="Rail strike talks", text=talks),
            article(url="https://n.test/presser", title="Council budget", text=presser),
        ]
    )
    page = store.search("Any news on the rail strike talks?", 2)
    assert page.hits[0].article.url == "https://n.test/talks"
    assert page.missing_words == ()
    (hit,) = store.search("Any news on the council budget?", 1).hits
    assert hit.article.url == "https://n.test/presser"
    assert [hit.text[a:b] for a, b in hit.highlight.terms] == ["council", "budget"]  # not "news"


def test_a_misspelled_name_is_searched_as_the_stored_spelling(settings: Settings) -> None:
    store = _store(settings)
    _add_stories(
        store,
        [
            (
                "strike",
                "School strike",
                "Greta Thunberg began her school strike outside parliament in August 2018.",
                "2026-11-02",
            ),
            (
                "harvest",
                "Harvest",
                "The school harvest fair opened outside the town hall.",
                "2026-11-20",
            ),
        ],
    )
    page = store.search("When was the Thunburg strike outside parliament?", 2)
    assert page.hits[0].article.url == "https://n.test/strike"
    hit = page.hits[0]
    assert "Thunberg" in [hit.text[a:b] for a, b in hit.highlight.terms]
    assert page.missing_words == ("Thunburg",)
    assert page.respelled == (("Thunburg", "Thunberg"),)
    # Without the respelling "Thunburg" matches nothing, and "harvest" answers "Thunburg".
    assert store.search("Thunburg", 2).hits[0].article.url == "https://n.test/strike"
    # Spelled right, or an English word no article holds, or too short: searched as typed.
    assert store.search("When did Thunberg strike?", 2).respelled == ()
    annulled = store.search("Was the school fair annulled?", 2)
    assert annulled.missing_words == ("annulled",) and annulled.respelled == ()
    assert store.search("Thnbreg strike", 2).respelled == ()  # two letters off
    assert store.search("school fari", 2).respelled == ()  # "fair", but four letters
    # At most five unknown words are looked up: hundreds (gibberish) would cost for nothing.
    assert store.search("zqxjk " * 4 + "Thunburg strike", 2).respelled == (
        ("Thunburg", "Thunberg"),
    )
    assert store.search("zqxjk zqxjl zqxjm zqxjn zqxjo Thunburg strike", 2).respelled == ()


def test_asking_only_for_the_latest_lists_the_newest_articles(settings: Settings) -> None:
    store = _store(settings)
    store.add_articles(
        [
            article(
                url=f"https://n.test/{day}",
                title=f"News of the {day}th",
                text=f"First sentence of the {day}th. Second sentence. " + "More words. " * 60,
                published=f"2026-11-{day}",
            )
            for day in (10, 24, 17)
        ]
    )
    page = store.search("What's the latest?", 2)
    assert page.newest
    assert [h.article.url for h in page.hits] == ["https://n.test/24", "https://n.test/17"]
    assert page.hits[0].text.startswith("First sentence of the 24th. Second sentence.")
    assert len(page.hits[0].text.split()) <= 80
    assert page.has_more
    rest = store.search("anything new?", 2, offset=2)
    assert [h.article.url for h in rest.hits] == ["https://n.test/10"] and not rest.has_more
    # Asking for the latest about something is a search, newest first among close matches.
    assert not store.search("What's new on the 17th?", 2).newest
    plan = store.conn.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM articles"
        " ORDER BY coalesce(published, ingested_at) DESC, id DESC LIMIT 3"
    ).fetchall()
    assert "articles_by_date" in str(plan)  # not a scan of every article's text


def test_a_period_asked_about_keeps_to_its_articles(settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(search_module, "_today", lambda: date(2026, 11, 26))
    store = _store(settings)
    days = {"25": "yesterday", "20": "last week", "10": "earlier"}
    store.add_articles(
        [
            article(
                url=f"https://n.test/{day}",
                title=f"Ferry news {label}",
                text=f"The island ferry timetable changed ({label}). Boats sail at noon.",
                published=f"2026-11-{day}",
            )
            for day, label in days.items()
        ]
    )
    page = store.search("ferry timetable yesterday", 3)
    assert [h.article.url for h in page.hits] == ["https://n.test/25"]
    assert page.period == "yesterday" and not page.outside_period
    last_week = store.search("ferry timetable last week", 3).hits
    assert [h.article.url for h in last_week] == ["https://n.test/20"]
    # Nothing from then: the closest matches from any day, said to be that.
    page = store.search("ferry timetable last month", 3)
    assert page.outside_period and len(page.hits) == 3
    newest = store.search("What happened this month?", 3)
    assert newest.newest and newest.period == "this month"
    assert [h.article.url for h in newest.hits] == [
        "https://n.test/25",
        "https://n.test/20",
        "https://n.test/10",
    ]
    today = store.search("What happened today?", 3)
    assert today.newest and today.hits == ()


def test_not_a_database_gives_a_clear_error(tmp_path: Path, settings: Settings) -> None:
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    from bot.settings import with_database

    with pytest.raises(StoreError, match=r"not a usable newsbot database|cannot open"):
        Store(store_config(with_database(settings, str(bad))))
    with pytest.raises(StoreError, match="does not exist"):
        Store(store_config(with_database(settings, str(tmp_path / "no" / "x.db"))))


async def test_async_store_reads_and_writes_off_the_loop(settings: Settings) -> None:
    store = await AsyncStore.open(store_config(settings))
    try:
        results = await store.add_articles(
            [
                article(
                    url=f"https://n.test/{i}",
                    title=f"Story {i}",
                    text=f"Unique story number {i} about otters and word{i}.",
                )
                for i in range(20)
            ]
        )
        assert all(r.status is AddStatus.SAVED for r in results)
        page = await store.search("otters word7", 3)
        assert page.hits[0].article.title == "Story 7"
        assert (await store.stats()).articles == 20
    finally:
        await store.close()
    reopened = Store(store_config(settings))
    assert reopened.integrity_problems() == []


def test_paging_through_results(settings: Settings) -> None:
    store = _store(settings)
    places = ["mill", "weir", "bridge", "marsh", "harbour", "quarry", "forest"]
    extras = [
        "herons nested nearby",
        "the water was cold",
        "a kingfisher flew past",
        "children watched from the bank",
        "rain fell all morning",
        "the path was muddy",
        "a boat went by slowly",
    ]
    store.add_articles(
        [
            article(
                title=f"Otter report from the {place}",
                url=f"https://n.test/{place}",
                text=f"Volunteers counted otters near the {place}. {extra}.",
            )
            for place, extra in zip(places, extras, strict=True)
        ]
    )
    first = store.search("otters counted", 3)
    second = store.search("otters counted", 3, offset=3)
    last = store.search("otters counted", 3, offset=6)
    assert first.has_more and second.has_more and not last.has_more
    seen = [h.article.url for h in first.hits + second.hits + last.hits]
    assert len(seen) == len(set(seen)) == 7


def test_term_statistics_agree_with_the_stored_passages(settings: Settings) -> None:
    store = _store(settings)
    store.add_articles(
        [article(title=t, text=x, url=f"https://n.test/{i}") for i, (t, x) in enumerate(CORPUS)]
    )
    store.add_articles(
        [
            article(
                title="Council approves footbridge",
                url="https://n.test/0",
                text="The council changed its mind about the footbridge. "
                "A ferry will run instead, from June.",
            )
        ]
    )

    def stats() -> dict[str, int]:
        return dict(store.conn.execute("SELECT term, df FROM term_stats"))

    vocab = document_frequencies(store.conn)
    assert stats() == vocab
    assert "ferri" in vocab and vocab["footbridg"] == 2


def test_an_edited_article_is_quoted_from_its_new_text(settings: Settings) -> None:
    store = _store(settings)
    store.add_articles([article(url="https://n.test/ferry", text="The ferry sails at noon today.")])
    assert store.search("ferry sails", 3).hits[0].text == "The ferry sails at noon today."
    store.add_articles(
        [article(url="https://n.test/ferry", text="The ferry sails at dusk, not at noon.")]
    )
    assert store.search("ferry sails", 3).hits[0].text == "The ferry sails at dusk, not at noon."


def test_the_fuller_report_beats_a_brief_repeating_the_question(settings: Settings) -> None:
    full = article(
        url="https://n.test/full",
        title="Lighthouse keeper retires after forty years",
        text=(
            "The lighthouse keeper at Skerry Point retired on Friday after forty years. "
            "Tom Harlan kept the lighthouse lamp lit through storms and fog since 1984. "
            "He said the hardest winter was the one when the supply boat could not land. "
            "Villagers gathered at the harbour to thank him with a cake and a brass band. "
            "The lighthouse will now be run automatically from the mainland.\n\n"
            "The lighthouse keeper's successor will be a machine, the trust said. "
            "Harlan plans to move to the village and write about the lighthouse keeper's "
            "life. His logbooks, kept since 1984, will go to the county museum. "
            "The trust thanked the lighthouse keeper for decades of careful work on the lamp.\n\n"
            "Other retired lighthouse keepers sent letters. One retired keeper wrote that the "
            "lighthouse would miss him, and that no lighthouse keeper had served the point "
            "longer. The county council will mark the day with a plaque at the lighthouse "
            "gate, and the school will name its new library after the retired keeper."
        ),
    )
    brief = article(
        url="https://n.test/brief",
        title="A statement from the trust",
        text="Tom Harlan, keeper of the lighthouse, has retired, the trust said in a statement "
        "today, thanking him for his service over many years at the point.",
    )
    question = "When did the lighthouse keeper Tom Harlan retire from the lighthouse?"
    config = store_config(settings)

    def first_url(article_weight: float) -> str | None:
        # The windows' share fixed low, so that the articles' evidence decides.
        search = dataclasses.replace(
            config.search, rerank_window_weight=0.1, rerank_article_weight=article_weight
        )
        store = Store(dataclasses.replace(config, search=search))
        return store.search(question, 3).hits[0].article.url

    _store(settings).add_articles([full, brief])
    assert first_url(config.search.rerank_article_weight) == "https://n.test/full"
    assert first_url(0.0) == "https://n.test/brief"
