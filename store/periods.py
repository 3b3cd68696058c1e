"""When a question asks about: "yesterday", "this week", "last month" (relative to today)."""

from __future__ import annotations

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
