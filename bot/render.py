"""Answers -> Telegram HTML and plain text. No I/O.

Telegram accepts only a few tags; we use <blockquote>, <b>, <i> and <a>, escape everything
else, and keep every message within Telegram's 4096-character limit (measured in UTF-16 code
units over the whole HTML source, which is never shorter than what Telegram counts).
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from store.models import Highlight, Hit, SearchPage, StoredArticle

NOTHING_FOUND = "Nothing on that yet. Send me articles or links about it, then ask again."
NO_TERMS = (
    "Ask with a few words to search for, e.g. “What did the council decide about the bridge?”"
)
ELLIPSIS = "…"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Quote:
    """A passage cut to fit, with highlight ranges relative to the cut text."""

    text: str
    sentences: tuple[tuple[int, int], ...]
    terms: tuple[tuple[int, int], ...]


def _shift(
    ranges: tuple[tuple[int, int], ...], start: int, end: int, offset: int
) -> tuple[tuple[int, int], ...]:
    return tuple(
        (max(s, start) - start + offset, min(e, end) - start + offset)
        for s, e in ranges
        if e > start and s < end
    )


def cut_quote(text: str, highlight: Highlight, limit: int) -> Quote:
    """Shorten a passage to ``limit`` characters at word boundaries, keeping the best sentence
    in view; a cut side gets an ellipsis. The kept text is an exact substring of the passage."""
    if len(text) <= limit:
        return Quote(text, highlight.sentences, highlight.terms)
    focus = 0
    if highlight.sentences:
        sentence_start, sentence_end = highlight.sentences[0]
        focus = sentence_start
        if sentence_end - sentence_start > limit:
            # A sentence longer than the quote: centre on its first matched word instead.
            first_term = next((s for s, _ in highlight.terms if s >= sentence_start), focus)
            focus = max(sentence_start, first_term - limit // 4)
    start = focus if focus + limit < len(text) else max(0, len(text) - limit)
    if start > 0 and not text[start - 1].isspace():
        # Start at a word: move forward to the next space.
        space = text.find(" ", start, start + 40)
        start = space + 1 if space >= 0 else start
    end = min(len(text), start + limit)
    if end < len(text):
        space = text.rfind(" ", start, end)
        if space > start + limit // 2:
            end = space
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if end < len(text) else ""
    offset = len(prefix)
    return Quote(
        prefix + text[start:end] + suffix,
        _shift(highlight.sentences, start, end, offset),
        _shift(highlight.terms, start, end, offset),
    )


def _emphasised_html(quote: Quote) -> str:
    """Escape the quote; matched sentences in <i>, matched terms in <b>.

    The text is cut at every range boundary and each piece is wrapped on its own, so tags
    always nest properly whatever the ranges are.
    """
    text = quote.text
    cuts = sorted({0, len(text), *(p for r in quote.sentences + quote.terms for p in r)})
    out: list[str] = []
    for start, end in itertools.pairwise(cuts):
        piece = html.escape(text[start:end], quote=False)
        if any(s <= start and end <= e for s, e in quote.terms):
            piece = f"<b>{piece}</b>"
        if any(s <= start and end <= e for s, e in quote.sentences):
            piece = f"<i>{piece}</i>"
        out.append(piece)
    return "".join(out).replace("</i><i>", "").replace("</b><b>", "")


def age(when: str | None, now: datetime) -> str | None:
    """'today', 'yesterday', '3 days ago', '2 weeks ago', '5 months ago', '2 years ago'."""
    day = _day(when)
    if day is None:
        return None
    days = (now.date() - day).days
    if days < 0:
        return None
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    for size, unit in ((365, "year"), (30, "month"), (7, "week"), (1, "day")):
        if days >= size:
            n = days // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return None  # pragma: no cover


def _day(when: str | None) -> date | None:
    if not when:
        return None
    try:
        return datetime.fromisoformat(when).date()
    except ValueError:
        return None


def dated(article: StoredArticle, now: datetime) -> str | None:
    """'12 Mar 2024 (3 days ago)' from the published date, or 'added ...' if it has none."""
    when, prefix = article.published, ""
    if _day(when) is None:
        when, prefix = article.ingested_at, "added "
    day = _day(when)
    if day is None:
        return None
    label = f"{prefix}{day.day} {day.strftime('%b %Y')}"
    how_old = age(when, now)
    return f"{label} ({how_old})" if how_old else label


def _attribution_html(article: StoredArticle, now: datetime) -> str:
    title = html.escape(article.title or "Untitled", quote=False)
    head = (
        f'<a href="{html.escape(article.url, quote=True)}">{title}</a>'
        if article.url
        else f"<b>{title}</b>"
    )
    details = [html.escape(x, quote=False) for x in (article.source, dated(article, now)) if x]
    return head + (" — " + ", ".join(details) if details else "")


def _also_html(hit: Hit) -> str:
    if not hit.also_reported_by:
        return ""
    names = []
    for other in hit.also_reported_by:
        name = html.escape(other.source or other.title, quote=False)
        names.append(
            f'<a href="{html.escape(other.url, quote=True)}">{name}</a>' if other.url else name
        )
    return "\nAlso reported by " + ", ".join(names)


def hit_html(hit: Hit, now: datetime, quote_limit: int, attributed: bool = True) -> str:
    """One quote, and (``attributed``) the article's title, link, source and date after it."""
    emphasised = _emphasised_html(cut_quote(hit.text, hit.highlight, quote_limit))
    quote = f"<blockquote>{emphasised}</blockquote>"
    if not attributed:
        return quote
    return quote + "\n" + _attribution_html(hit.article, now) + _also_html(hit)


def _attributed(hits: list[Hit]) -> list[bool]:
    """Quotes from one article in a row share one attribution, after the last of them (or
    after one with copies elsewhere, to say so there)."""
    return [
        i + 1 == len(hits) or hits[i + 1].article.id != hit.article.id or bool(hit.also_reported_by)
        for i, hit in enumerate(hits)
    ]


def answer_html(
    page: SearchPage,
    *,
    now: datetime | None = None,
    max_chars: int = 4096,
    max_quote_chars: int = 1200,
) -> str:
    """The whole answer as one Telegram HTML message of at most ``max_chars``."""
    now = now or datetime.now(UTC)
    if not page.terms and not page.newest:
        return html.escape(NO_TERMS, quote=False)
    if not page.hits:
        return html.escape(nothing_found(page), quote=False)
    hits = list(page.hits)
    quote_limit = max_quote_chars
    note = head_note(page)
    head = html.escape(note, quote=False) + "\n\n" if note else ""
    footnote = missing_words_note(page)
    tail = "\n\n<i>" + html.escape(footnote, quote=False) + "</i>" if footnote else ""
    while True:
        message = (
            head
            + "\n\n".join(
                hit_html(hit, now, quote_limit, attributed)
                for hit, attributed in zip(hits, _attributed(hits), strict=True)
            )
            + tail
        )
        if utf16_len(message) <= max_chars:
            return message
        if quote_limit > 200:
            quote_limit = max(200, quote_limit * 2 // 3)
        elif len(hits) > 1:
            hits.pop()
        else:
            # One hit with a huge title or URL: give up on the link details, never the limit.
            return html.escape(truncate(hits[0].text, max_chars // 2), quote=False)


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut + ELLIPSIS


_MISSING_WORDS_SHOWN = 5  # a long question of unknown words is not repeated back whole


def missing_words_note(page: SearchPage) -> str | None:
    """What to say after the hits when some of the question's words are in no stored article
    (a typo, or something nobody has sent yet): the quotes match the rest."""
    if not page.missing_words or not page.hits:
        return None
    words = [f"“{w}”" for w in page.missing_words[:_MISSING_WORDS_SHOWN]]
    more = len(page.missing_words) - len(words)
    if more:
        words.append(f"{more} more of your words" if more > 1 else "one more of your words")
    note = f"No stored article mentions {_listed(words, 'or')}."
    if page.respelled:
        note += " Searched for " + _listed([f"“{s}”" for _, s in page.respelled], "and")
        if len(page.missing_words) == 1:
            note += " instead."
        else:
            typed = _listed([f"“{t}”" for t, _ in page.respelled], "and")
            note += f" instead of {typed}."
    return note


def did_you_mean(respelled: Sequence[tuple[str, str]]) -> str:
    """HTML: a topic's words no stored article holds, and the stored words they look like."""
    if not respelled:
        return ""
    typed = _listed([f"“{html.escape(t, quote=False)}”" for t, _ in respelled], "or")
    stored = _listed([f"“{html.escape(s, quote=False)}”" for _, s in respelled], "or")
    return f"No stored article mentions {typed} yet. Did you mean {stored}?"


def _listed(items: list[str], conjunction: str) -> str:
    """The items joined as a sentence says them: "a", "a or b", "a, b or c"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


NEWEST = "The newest stored news:"


def head_note(page: SearchPage) -> str | None:
    """What to say before the hits: that they are the newest news (of the period asked
    about) when that was asked, that nothing from the period asked about matched, or that
    the question's quoted phrases are nowhere."""
    if not page.hits:
        return None
    if page.newest:
        return f"The newest stored news from {page.period}:" if page.period else NEWEST
    notes = []
    if page.outside_period:
        notes.append(
            f"Nothing stored from {page.period} on that. The closest matches from other days:"
        )
    if page.missing_phrases:
        quoted = " or ".join(f"“{p}”" for p in page.missing_phrases)
        notes.append(f"No stored article has {quoted} word for word. The closest matches:")
    return "\n".join(notes) or None


def nothing_found(page: SearchPage) -> str:
    """What to say when nothing answers."""
    if page.newest and page.period:
        return f"Nothing stored from {page.period} yet."
    return NOTHING_FOUND


def answer_text(page: SearchPage, *, now: datetime | None = None, bold: bool = False) -> str:
    """Plain text for the terminal; with ``bold``, matched terms in ANSI bold."""
    now = now or datetime.now(UTC)
    if not page.hits:
        return nothing_found(page)
    note = head_note(page)
    blocks = [note] if note else []
    hits = list(page.hits)
    for number, (hit, attributed) in enumerate(zip(hits, _attributed(hits), strict=True), 1):
        quote = hit.text
        if bold:
            for s, e in sorted(hit.highlight.terms, reverse=True):
                quote = quote[:s] + "\033[1m" + quote[s:e] + "\033[0m" + quote[e:]
        quoted = "\n".join("   > " + line if line else "   >" for line in quote.split("\n"))
        details = " · ".join(
            x for x in (hit.article.title, hit.article.source, dated(hit.article, now)) if x
        )
        lines = [f"{number}.", quoted]
        if not attributed:
            blocks.append("\n".join(lines))
            continue
        lines.append(f"   — {details}")
        if hit.article.url:
            lines.append(f"   {hit.article.url}")
        if hit.also_reported_by:
            also = ", ".join(a.source or a.title for a in hit.also_reported_by)
            lines.append(f"   Also reported by {also}")
        blocks.append("\n".join(lines))
    footnote = missing_words_note(page)
    if footnote:
        blocks.append(footnote)
    return "\n\n".join(blocks)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def outcome_html(
    status: str, title: str | None, passages: int, source: str, reason: str | None
) -> str:
    """One line about one thing the user gave: saved, updated, already stored or failed."""
    name = html.escape(truncate(title or source, 200), quote=False)
    if status == "saved":
        return f"Saved: <b>{name}</b> ({_plural(passages, 'passage')})"
    if status == "updated":
        return f"Updated: <b>{name}</b> ({_plural(passages, 'passage')})"
    if status == "already stored":
        return f"Already stored: <b>{name}</b>"
    what = html.escape(truncate(source, 200), quote=False)
    because = html.escape(reason or "unknown error", quote=False)
    return f"Could not add {what}: {because}"


def lines_html(lines: list[str], max_chars: int = 4096) -> str:
    """HTML lines as one message of at most ``max_chars``: as many whole lines as fit, then
    how many more there were."""
    kept: list[str] = []
    for number, line in enumerate(lines):
        rest = len(lines) - number
        tail = f"\n…and {rest - 1} more." if rest > 1 else ""
        if utf16_len("\n".join([*kept, line]) + tail) > max_chars:
            return "\n".join([*kept, f"…and {rest} more."])
        kept.append(line)
    return "\n".join(kept)


def sources_html(sources: list[tuple[str, str | None, int, str]], now: datetime) -> str:
    if not sources:
        return "No sources yet. Forward a post, paste a link or send a .txt/.html/.md file."
    lines = ["<b>Sources</b>, most recently added first:"]
    for name, url, count, last in sources:
        label = html.escape(truncate(name, 100), quote=False)
        if url:
            label = f'<a href="{html.escape(url, quote=True)}">{label}</a>'
        when = age(last, now) or "recently"
        lines.append(f"• {label}: {_plural(count, 'article')}, last added {when}")
    return "\n".join(lines)


def stats_html(articles: int, passages: int, sources: int, database_bytes: int) -> str:
    return (
        f"I know {_plural(articles, 'article')} ({_plural(passages, 'passage')}) "
        f"from {_plural(sources, 'source')}; the database is "
        f"{database_bytes / 1_000_000:.1f} MB."
    )


HELP_HTML = """I answer questions about the news I have been given, with \
<b>quoted excerpts and links</b> to the sources — never with words of my own.

<b>Give me news</b>
• Forward a post from a channel, or any message, and I store it with a link to the original.
• Paste one or more links and I fetch and store the articles.
• Send a .txt, .html or .md file.
• Make me an admin of your channel and I store every new post.

<b>Ask</b>
• In this chat, just type a question, e.g. <i>What did the council decide about the bridge?</i>
• <i>What's new?</i> shows the newest stories; <i>yesterday</i>, <i>this week</i> or \
<i>last month</i> in a question keeps to the news of then, and a month with its year \
(<i>in March 2020</i>) puts that month's news first; put words in "quotes" to find them \
exactly.
• In groups, use /ask, mention me, or reply to one of my messages.

<b>Commands</b>
/ask <i>question</i> — answer with quoted excerpts
/subscribe <i>topic</i> — alerts when new stories match (use "exact phrases" and -excluded words)
/subscriptions — your topics: pause, daily digest, delete
/settings — timezone, digest hour, quiet hours
/addfeed <i>address</i> — read an RSS or Atom feed (admins)
/feeds — the feeds I read
/forget <i>link</i> — remove a stored article (admins)
/stats — how much I know
/sources — where my news comes from
/help — this text"""


def _story_line(hit: Hit, topic: str | None, now: datetime) -> str:
    article = hit.article
    title = html.escape(truncate(article.title or "Untitled", 150), quote=False)
    head = f'<a href="{html.escape(article.url, quote=True)}">{title}</a>' if article.url else title
    details = [html.escape(x, quote=False) for x in (article.source, dated(article, now)) if x]
    line = "• " + head + (" — " + ", ".join(details) if details else "")
    return line + (f" <i>({html.escape(truncate(topic, 60), quote=False)})</i>" if topic else "")


def alert_html(
    topic: str, hit: Hit, *, now: datetime, max_chars: int = 4096, max_quote_chars: int = 800
) -> str:
    head = f"🔔 New on <b>{html.escape(truncate(topic, 200), quote=False)}</b>\n"
    limit = max_quote_chars
    while True:
        message = head + hit_html(hit, now, limit)
        if utf16_len(message) <= max_chars or limit <= 100:
            return (
                message if utf16_len(message) <= max_chars else head + _story_line(hit, None, now)
            )
        limit //= 2


def stories_html(
    heading: str, items: list[tuple[str, Hit]], total: int, *, now: datetime, max_chars: int = 4096
) -> str:
    """A list of stories (a burst of alerts, or the digest), within Telegram's limit."""
    lines = [heading]
    for topic, hit in items:
        line = _story_line(hit, topic, now)
        if utf16_len("\n".join([*lines, line])) > max_chars - 200:
            break
        lines.append(line)
    rest = total - (len(lines) - 1)
    if rest > 0:
        lines.append(f"…and {rest} more. Narrow your topics with /subscriptions.")
    return "\n".join(lines)


def subscription_line(query: str, mode: str, paused: bool) -> str:
    state = "paused" if paused else ("daily digest" if mode == "digest" else "instant")
    return f"<b>{html.escape(truncate(query, 200), quote=False)}</b> — {state}"
