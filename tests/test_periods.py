from datetime import date

import pytest

from store.periods import asked_period

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


def test_a_period_holds_dates_and_times_by_their_day() -> None:
    period, _ = asked_period("yesterday", THURSDAY)
    assert period is not None
    assert period.holds("2026-11-25") and period.holds("2026-11-25T23:59:00+00:00")
    assert not period.holds("2026-11-26") and not period.holds("2026-11-24T23:59:00+00:00")
    assert not period.holds("")
