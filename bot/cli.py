"""The `newsbot` command: argument parsing and output only; the work is in the service."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot import render
from bot.ingest_command import cmd_ingest, outcome_line
from bot.service import NewsService, open_service
from bot.settings import Settings, SettingsError, load_settings, with_api_url, with_database
from bot.urls import find_urls, is_web_url
from store.db import StoreError
from store.models import SearchPage

log = logging.getLogger("newsbot")

CHAT_HELP = """Ask a question in plain words, or paste links to add articles.
/stats  what is stored    /help  this text    /quit  leave (or Ctrl-D)"""


def _common_options(parser: argparse.ArgumentParser, top: bool) -> None:
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=default,
        help="SQLite database (default: settings.toml, or $NEWSBOT_DB)",
    )
    parser.add_argument(
        "--settings",
        metavar="PATH",
        default=default,
        help="settings file with the values to change from settings.toml",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="log what happens",
    )


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _subcommand(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help: str,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand that takes the options every command takes."""
    parser = commands.add_parser(name, help=help, description=description)
    _common_options(parser, top=False)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="Answer questions about stored news with quoted excerpts and links.",
    )
    _common_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    ingest = _subcommand(
        commands,
        "ingest",
        help="store articles from links, files or stdin",
        description="Store articles. SOURCE is an http(s) URL, a .html/.txt/.md file, a .jsonl "
        'file (one {"url","title","published","text","source"} object per line), or - for '
        "text on stdin.",
    )
    ingest.add_argument("sources", nargs="+", metavar="SOURCE")
    ingest.add_argument("--json", action="store_true", help="print one JSON object per article")

    ask = _subcommand(
        commands,
        "ask",
        help="answer a question with quoted excerpts",
        description="Answer QUESTION, or each line of stdin when no QUESTION is given.",
    )
    ask.add_argument("question", nargs="*", metavar="QUESTION")
    ask.add_argument("--json", action="store_true", help="print JSON")
    ask.add_argument("--limit", type=_positive_int, metavar="N", help="excerpts per answer")

    remove = _subcommand(
        commands,
        "remove",
        help="delete stored articles by their links",
        description="Delete the articles stored at these links, with their passages and any "
        "alert about them not sent yet: they are never quoted again.",
    )
    remove.add_argument("urls", nargs="+", metavar="URL")

    stats = _subcommand(commands, "stats", help="show what is stored")
    stats.add_argument("--json", action="store_true", help="print JSON")

    _subcommand(commands, "chat", help="talk to newsbot in the terminal")

    feeds = _subcommand(
        commands,
        "feeds",
        help="manage news feeds (RSS/Atom)",
        description="Add, list and remove the feeds newsbot reads, or poll them once (for cron).",
    )
    feed_commands = feeds.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    feed_add = feed_commands.add_parser("add", help="add a feed, or a site that announces one")
    feed_add.add_argument("url", metavar="URL")
    feed_list = feed_commands.add_parser("list", help="list feeds with their state")
    feed_list.add_argument("--json", action="store_true", help="print JSON lines")
    feed_remove = feed_commands.add_parser("remove", help="remove a feed")
    feed_remove.add_argument("url", metavar="URL")
    feed_poll = feed_commands.add_parser("poll", help="fetch due feeds once and store new items")
    feed_poll.add_argument("--all", action="store_true", help="fetch every feed, due or not")
    for sub in (feed_add, feed_list, feed_remove, feed_poll):
        _common_options(sub, top=False)

    backup = _subcommand(
        commands,
        "backup",
        help="copy the database safely while it is in use",
        description="Write a consistent copy of the database to DEST with SQLite's online "
        "backup; the bot and other commands may keep running meanwhile.",
    )
    backup.add_argument("destination", type=Path, metavar="DEST")
    backup.add_argument("--force", action="store_true", help="replace DEST if it exists")

    evaluation = _subcommand(
        commands,
        "eval",
        help="measure answer quality on a question set",
        description="Ingest ARTICLES (JSON Lines) into a temporary database, ask every question "
        'in QUESTIONS (JSON Lines: {"id", "question", "answers": [...]}) and report '
        "answer-in-top-1, answer-in-top-3 and MRR@10, next to a plain BM25 baseline.",
    )
    evaluation.add_argument("articles", type=Path, metavar="ARTICLES")
    evaluation.add_argument("questions", type=Path, metavar="QUESTIONS")
    evaluation.add_argument("--json", action="store_true", help="print JSON")
    evaluation.add_argument(
        "--misses", type=int, default=10, metavar="N", help="misses to list (default 10)"
    )

    run = _subcommand(
        commands,
        "run",
        help="run the Telegram bot",
        description="Run the Telegram bot (long polling) with the token from "
        "TELEGRAM_BOT_TOKEN. Stop it with Ctrl-C or SIGTERM.",
    )
    run.add_argument(
        "--api-url",
        metavar="URL",
        help="Bot API server (default: settings.toml, https://api.telegram.org)",
    )
    return parser


# ---------------------------------------------------------------- ingest


# ---------------------------------------------------------------- ask, stats, chat


def answer_json(page: SearchPage) -> dict[str, Any]:
    return {
        "query": page.query,
        "results": [
            {
                "url": hit.article.url,
                "title": hit.article.title,
                "source": hit.article.source,
                "published": hit.article.published,
                "text": hit.text,
                "score": round(hit.score, 4),
            }
            for hit in page.hits
        ],
        "missing_phrases": list(page.missing_phrases),
        "missing_words": list(page.missing_words),
        "respelled": [{"typed": typed, "searched": stored} for typed, stored in page.respelled],
    }


def _answer_text(page: SearchPage) -> str:
    if not page.terms and not page.newest:
        return render.NO_TERMS
    return render.answer_text(page, now=datetime.now(UTC), bold=sys.stdout.isatty())


async def cmd_ask(service: NewsService, args: argparse.Namespace) -> int:
    if args.question:
        questions: Sequence[str] = [" ".join(args.question)]
    else:
        questions = (line.strip() for line in sys.stdin)  # type: ignore[assignment]
    first = True
    for question in questions:
        if not question and not args.question:
            continue
        page = await service.ask(question, args.limit)
        if args.json:
            print(json.dumps(answer_json(page), ensure_ascii=False), flush=True)
        else:
            if not args.question:
                print(("" if first else "\n") + f"Q: {question}")
            print(_answer_text(page), flush=True)
        first = False
    return 0


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"  # pragma: no cover


async def cmd_stats(service: NewsService, args: argparse.Namespace) -> int:
    stats = await service.stats()
    if args.json:
        print(
            json.dumps(
                {
                    "articles": stats.articles,
                    "passages": stats.passages,
                    "sources": stats.sources,
                    "database_bytes": stats.database_bytes,
                    "database": service.settings.database.path,
                }
            )
        )
    else:
        print(
            f"articles:  {stats.articles}\npassages:  {stats.passages}\n"
            f"sources:   {stats.sources}\ndatabase:  {service.settings.database.path} "
            f"({_size(stats.database_bytes)})"
        )
    return 0


async def chat_reply(service: NewsService, line: str) -> str:
    """One turn of `newsbot chat`: the same answers the bot gives, as plain text."""
    line = line.strip()
    if not line:
        return ""
    if line in {"/help", "/start", "help"}:
        return CHAT_HELP
    if line == "/stats":
        stats = await service.stats()
        return f"{stats.articles} articles, {stats.passages} passages, {stats.sources} sources."
    if line.startswith("/"):
        return f"Unknown command {line.split()[0]}. " + CHAT_HELP
    urls = find_urls(line)
    if urls:
        outcomes = [await service.ingest_url(url) for url in urls]
        return "\n".join(outcome_line(o) for o in outcomes)
    return _answer_text(await service.ask(line))


async def cmd_chat(service: NewsService, args: argparse.Namespace) -> int:
    interactive = sys.stdin.isatty()
    if interactive:
        print("newsbot chat. " + CHAT_HELP)
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            print("\n> ", end="", flush=True)
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line or line.strip() in {"/quit", "/exit"}:
            return 0
        reply = await chat_reply(service, line)
        if reply:
            print(reply, flush=True)


async def cmd_feeds(service: NewsService, args: argparse.Namespace) -> int:
    from bot.feeds import FeedError, FeedService

    feeds = FeedService(service)
    action = args.feeds_command
    if action == "add":
        try:
            feed, created = await feeds.add(args.url)
        except FeedError as e:
            print(f"failed: {args.url}: {e}")
            return 1
        print(
            f"{'added' if created else 'already listed'}: {feed.title or feed.url} "
            f"({feed.url}, {feed.items} items)"
        )
    elif action == "list":
        for feed in await feeds.feeds():
            if args.json:
                print(json.dumps(dataclasses.asdict(feed), ensure_ascii=False))
            else:
                state = f"error: {feed.last_error}" if feed.last_error else "ok"
                print(
                    f"{feed.url}\t{feed.title or ''}\t{feed.items} items\t"
                    f"last fetched {feed.last_fetched_at or 'never'}\t{state}"
                )
    elif action == "remove":
        if not await feeds.remove(args.url.strip()):
            print(f"failed: {args.url}: no such feed")
            return 1
        print(f"removed: {args.url}")
    else:
        failed = 0
        for result in await feeds.poll_due(everything=args.all):
            if result.error:
                failed += 1
                print(f"failed: {result.feed}: {result.error}")
            elif result.not_modified:
                print(f"not modified: {result.feed}")
            else:
                print(f"polled: {result.feed}: {result.new} new, {result.stored} stored")
        return 1 if failed else 0
    return 0


def _backup_problem(destination: Path, database: str, force: bool) -> str | None:
    if destination.resolve() == Path(database).resolve():
        return "DEST is the database itself"
    if destination.exists() and not force:
        return f"{destination} exists; use --force to replace it"
    if not destination.parent.is_dir():
        return f"folder {destination.parent} does not exist"
    destination.with_name(destination.name + ".partial").unlink(missing_ok=True)
    return None


def _finish_backup(partial: Path, destination: Path) -> int:
    partial.replace(destination)  # never leave a half-written backup under the real name
    return destination.stat().st_size


async def cmd_backup(service: NewsService, args: argparse.Namespace) -> int:
    destination: Path = args.destination
    problem = await asyncio.to_thread(
        _backup_problem, destination, service.settings.database.path, args.force
    )
    if problem:
        print(f"newsbot: error: {problem}", file=sys.stderr)
        return 1
    partial = destination.with_name(destination.name + ".partial")
    await service.store.backup(str(partial))
    size = await asyncio.to_thread(_finish_backup, partial, destination)
    stats = await service.stats()
    print(f"backed up {stats.articles} articles to {destination} ({_size(size)})")
    return 0


async def cmd_remove(service: NewsService, args: argparse.Namespace) -> int:
    failed = 0
    for url in args.urls:
        if not is_web_url(url.strip()):
            failed += 1
            print(f"failed: {url}: not an http(s) link")
            continue
        removed = await service.remove(url)
        if removed is None:
            failed += 1
            print(f"failed: {url}: no article is stored at that link")
        else:
            print(f"removed: {removed.title} ({removed.url})")
    return 1 if failed else 0


COMMANDS = {
    "ingest": cmd_ingest,
    "remove": cmd_remove,
    "ask": cmd_ask,
    "stats": cmd_stats,
    "chat": cmd_chat,
    "feeds": cmd_feeds,
    "backup": cmd_backup,
}


async def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from bot.evaluate import EvalInputError, evaluate

    for path in (args.articles, args.questions):
        if not path.is_file():
            print(f"newsbot: error: no such file: {path}", file=sys.stderr)
            return 1
    try:
        report = await evaluate(settings, args.articles, args.questions)
    except EvalInputError as e:
        print(f"newsbot: error: {e}", file=sys.stderr)
        return 1
    result = report.as_dict()
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    skipped = result["skipped_articles"]
    print(
        f"{result['articles']} articles stored"
        + (f" ({len(skipped)} skipped; first: {skipped[0]})" if skipped else "")
    )
    print(f"{result['questions']} questions   top-1   top-3   MRR@10")
    for name in ("newsbot", "baseline"):
        row = result[name]
        print(f"{name:<13}{row['top1']:>10.3f}{row['top3']:>8.3f}{row['mrr10']:>9.3f}")
    print(f"mean words in the first excerpt: {result['mean_excerpt_words']:.1f}")
    for miss in result["misses"][: args.misses]:
        print(
            f"\nmiss {miss['id']} (answer at rank {miss['rank']}): {miss['question']}\n"
            f"  expected: {' / '.join(miss['answers'])}\n"
            f"  returned: {render.truncate(miss['returned'] or '(nothing)', 300)}"
        )
    return 0


NO_TOKEN = """newsbot run needs a Telegram bot token in the TELEGRAM_BOT_TOKEN environment variable.

To get one: open Telegram, talk to @BotFather, send /newbot and follow the steps; it replies
with a token like 123456789:AA... Then:

    export TELEGRAM_BOT_TOKEN='123456789:AA...'
    newsbot run

To try newsbot without Telegram, use `newsbot chat`."""


class RedactToken(logging.Filter):
    """Keeps the bot token out of every log line, whatever library logs it."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._token in message:
            record.msg = message.replace(self._token, "[bot token]")
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if self._token in text:
                record.msg = f"{record.msg}\n{text.replace(self._token, '[bot token]')}"
                record.exc_info = None
                record.exc_text = None
        return True


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from telegram import Update
    from telegram.error import InvalidToken, NetworkError

    from bot.app import build_application

    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        print(NO_TOKEN, file=sys.stderr)
        return 1
    redact = RedactToken(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    if args.api_url:
        settings = with_api_url(settings, args.api_url)
    # Open (and migrate) the database first: a bad path is reported before any network use.
    from bot.service import store_config
    from store.db import Store

    Store(store_config(settings)).close()
    application = build_application(settings, token)
    try:
        application.run_polling(
            allowed_updates=Update.ALL_TYPES,
            timeout=settings.telegram.poll_timeout,
            close_loop=False,
        )
    except InvalidToken:
        print(
            "newsbot: error: Telegram rejected the token in TELEGRAM_BOT_TOKEN; "
            "check it with @BotFather.",
            file=sys.stderr,
        )
        return 1
    except NetworkError as e:
        print(
            f"newsbot: error: cannot reach the Bot API at {settings.telegram.api_url}: "
            f"{str(e).replace(token, '[bot token]')}",
            file=sys.stderr,
        )
        return 1
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.settings)
    if args.db:
        settings = with_database(settings, args.db)
    return settings


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    fetching = args.command in {"ingest", "chat", "feeds"}
    async with open_service(settings, fetching=fetching) as service:
        return await COMMANDS[args.command](service, args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it would log the bot token in URLs
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        settings = _settings(args)
        if args.command == "run":
            return cmd_run(args, settings)
        if args.command == "eval":
            return asyncio.run(cmd_eval(args, settings))
        return asyncio.run(_run(args, settings))
    except (SettingsError, StoreError) as e:
        print(f"newsbot: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a bug: say so briefly, keep the details in the log
        log.exception("newsbot %s failed", args.command)
        print(
            f"newsbot: error: unexpected failure ({type(e).__name__}: {e}); "
            "run with -v for details",
            file=sys.stderr,
        )
        return 1
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
