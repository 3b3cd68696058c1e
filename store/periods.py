"""When a question asks about: "yesterday", "this week", "last month" (relative to today)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from store.text import PERIOD, take_out


@dataclass(frozen=True)
class Period:
    words: str  # as the question says it ("yesterday")
    since: date
    until: date  # the day after the last

    def holds(self, when: str) -> bool:
        """Whether an ISO date or date-time ("2026-11-25", "2026-11-25T13:00:00+00:00"),
        read as the day it names, lies in the period."""
        return self.since.isoformat() <= when[:10] < self.until.isoformat()


def asked_period(question: str, today: date) -> tuple[Period | None, str]:
    """The period a question asks about, if it names one, and the question without those
    words (they say when, not what, to look for). The first one named counts."""
    found, rest = take_out(question, PERIOD)
    if not found:
        return None, question
    words = found[0]
    key = words.lower()
    tomorrow = today + timedelta(days=1)
    monday = today - timedelta(days=today.weekday())
    first = today.replace(day=1)
    since, until = {
        "today": (today, tomorrow),
        "tonight": (today, tomorrow),
        "yesterday": (today - timedelta(days=1), today),
        "this week": (monday, tomorrow),
        "last week": (monday - timedelta(days=7), monday),
        "past week": (today - timedelta(days=6), tomorrow),
        "this month": (first, tomorrow),
        "last month": ((first - timedelta(days=1)).replace(day=1), first),
        "past month": (today - timedelta(days=29), tomorrow),
    }[key]
    return Period(words, since, until), rest


_MONTHS = (
    "january february march april may june july august september october november december"
).split()
_MONTH_YEAR = re.compile(
    r"\b(" + "|".join(_MONTHS) + r"|(?:jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?)"
    r"(?: \d{1,2}(?:st|nd|rd|th)?)?,? ((?:19|20)\d\d)\b",
    re.IGNORECASE,
)


def named_month(question: str) -> Period | None:
    """The month a question names with its year ("in September 2019", "Sept. 2019", "on March
    5, 2020", "5 March 2020"), as the period its news was published in: that month and the
    next, since an event late in a month is often reported early in the next. Unlike "this
    week", it only prefers: the question may ask about an event of that month in a later
    story."""
    match = _MONTH_YEAR.search(question)
    if not match:
        return None
    prefix = match.group(1).lower()[:3]
    month = next(n for n, name in enumerate(_MONTHS, 1) if name.startswith(prefix))
    year = int(match.group(2))
    since = date(year, month, 1)
    after = month + 2  # the first day of the month after next
    until = date(year + (after - 1) // 12, (after - 1) % 12 + 1, 1)
    return Period(match.group(0), since, until)
