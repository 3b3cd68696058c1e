from datetime import date

import pytest

from store.periods import asked_period, named_month
from store.text import parse_topic

THURSDAY = date(2026, 11, 26)


@pytest.mark.parametrize(
    ("question", "since", "until", "rest"),
    [
        ("What happened yesterday?", date(2026, 11, 25), date(2026, 11, 26), "What happened  ?"),
        ("What happened today?", THURSDAY, date(2026, 11, 27), "What happened  ?"),
        ("rail strike this week", date(2026, 11, 23), date(2026, 11, 27), "rail strike  "),
        ("Rail strike LAST WEEK", date(2026, 11, 16), date(2026, 11, 23), "Rail strike  "),
        ("ferry in the past week", date(2026, 11, 20), date(2026, 11, 27), "ferry in the  "),
        ("floods this month", date(2026, 11, 1), date(2026, 11, 27), "floods  "),
        ("Last month in Harrow", date(2026, 10, 1), date(2026, 11, 1), "  in Harrow"),
    ],
)
def test_a_period_is_read_relative_to_today(
    question: str, since: date, until: date, rest: str
) -> None:
    period, left = asked_period(question, THURSDAY)
    assert period is not None
    assert (period.since, period.until, left) == (since, until, rest)


def test_last_month_in_january_is_last_december() -> None:
    period, _ = asked_period("last month", date(2027, 1, 15))
    assert period is not None
    assert (period.since, period.until) == (date(2026, 12, 1), date(2027, 1, 1))


def test_no_period_and_quoted_words_are_left_alone() -> None:
    assert asked_period("Who won the cup?", THURSDAY) == (None, "Who won the cup?")
    assert asked_period('the "last week" tonight show', THURSDAY)[0] is not None  # "tonight"
    assert asked_period('the "last week" show', THURSDAY) == (None, 'the "last week" show')


@pytest.mark.parametrize(
    "question", ["What did the Today programme report?", "Who was on The Tonight Show?"]
)
def test_a_programme_named_after_a_day_is_no_period(question: str) -> None:
    assert asked_period(question, THURSDAY) == (None, question)
    assert asked_period(question.lower(), THURSDAY)[0] is not None  # lower case: the day


def test_a_topic_keeps_a_programme_named_after_a_day() -> None:
    assert parse_topic("guests on The Tonight Show").terms == ("guest", "tonight", "show")
    assert parse_topic("guests tonight").terms == ("guest",)


def test_a_period_holds_dates_and_times_by_their_day() -> None:
    period, _ = asked_period("yesterday", THURSDAY)
    assert period is not None
    assert period.holds("2026-11-25") and period.holds("2026-11-25T23:59:00+00:00")
    assert not period.holds("2026-11-26") and not period.holds("2026-11-24T23:59:00+00:00")
    assert not period.holds("")


@pytest.mark.parametrize(
    ("question", "since", "until"),
    [
        ("the floods of September 2019", date(2019, 9, 1), date(2019, 11, 1)),
        ("What happened in Dec. 2020?", date(2020, 12, 1), date(2021, 2, 1)),
        ("November, 2018 election", date(2018, 11, 1), date(2019, 1, 1)),
        ("the May 2019 vote", date(2019, 5, 1), date(2019, 7, 1)),
        ("the vote on March 5, 2020", date(2020, 3, 1), date(2020, 5, 1)),
        ("the vote of 5 March 2020", date(2020, 3, 1), date(2020, 5, 1)),
        ("on July 4th 2021", date(2021, 7, 1), date(2021, 9, 1)),
    ],
)
def test_a_named_month_spans_it_and_the_next(question: str, since: date, until: date) -> None:
    month = named_month(question)
    assert month is not None
    assert (month.since, month.until) == (since, until)


@pytest.mark.parametrize("question", ["in 2019", "in September", "Mayhem 2019", "May 19"])
def test_no_named_month_without_a_month_and_a_year(question: str) -> None:
    assert named_month(question) is None
