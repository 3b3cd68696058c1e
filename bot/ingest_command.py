"""`newsbot ingest`: articles from JSON Lines (prepared in worker processes when the file is
big), files, stdin and links, stored through the service, one output line each."""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from bot import extract
from bot.service import IngestOutcome, NewsService
from bot.urls import is_web_url
from store.models import ArticleInput

TEXT_SUFFIXES = {".txt", ".text"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
URL_CONCURRENCY = 4


def outcome_line(outcome: IngestOutcome) -> str:
    if outcome.status == "failed":
        return f"failed: {outcome.source}: {outcome.reason}"
    if outcome.status == "already stored":
        return f"already stored: {outcome.title}"
    unit = "passage" if outcome.passages == 1 else "passages"
    return f"{outcome.status}: {outcome.title} ({outcome.passages} {unit})"


class _Printer:
    def __init__(self, as_json: bool, out: TextIO) -> None:
        self.as_json = as_json
        self.out = out
        self.failed = 0

    def __call__(self, outcome: IngestOutcome) -> None:
        if not outcome.ok:
            self.failed += 1
        line = (
            json.dumps(outcome.as_dict(), ensure_ascii=False)
            if self.as_json
            else (outcome_line(outcome))
        )
        tqdm.write(line, file=self.out)


def _show_progress() -> bool:
    return sys.stderr.isatty()


def jsonl_items(path: Path) -> Iterator[tuple[str, ArticleInput | str]]:
    """(label, article) for good lines, (label, reason) for bad ones."""
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            label = f"{path}:{number}"
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                yield label, f"not valid JSON ({e.msg if hasattr(e, 'msg') else e})"
                continue
            try:
                yield label, extract.from_record(record)
            except extract.ExtractError as e:
                yield label, str(e)


# A JSON Lines file larger than this is prepared (split and tokenised) in worker processes
# while the writer stores the previous batch; smaller ones are not worth starting them for.
PARALLEL_BYTES = 2_000_000


def _exit_with_parent(parent: int) -> None:
    """In a worker process: end when the ingesting process is gone (even after kill -9),
    rather than linger as an orphan."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


async def _ingest_jsonl(service: NewsService, path: Path, emit: _Printer) -> None:
    size = service.settings.ingest.batch_size
    parallel = (await asyncio.to_thread(lambda: path.stat().st_size)) > PARALLEL_BYTES
    workers = max(1, min(4, os.cpu_count() or 1))
    pool = (
        ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )
        if parallel
        else None
    )
    prepare = service.preparer()
    loop = asyncio.get_running_loop()
    # Batches whose preparation is under way, oldest first: (labels, future of prepared).
    in_flight: list[tuple[list[str], asyncio.Future[Any]]] = []

    async def store_oldest() -> None:
        labels, prepared = in_flight.pop(0)
        articles = await prepared
        for outcome in await service.ingest_articles(
            list(zip(labels, articles, strict=True)), bulk=True
        ):
            emit(outcome)
        bar.update(len(labels))

    def submit(batch: list[tuple[str, ArticleInput]]) -> None:
        labels = [label for label, _ in batch]
        articles = [article for _, article in batch]
        future: asyncio.Future[Any]
        if pool is None:
            future = loop.create_future()
            future.set_result(articles)  # the store prepares them itself
        else:
            future = loop.run_in_executor(pool, prepare, articles)
        in_flight.append((labels, future))

    try:
        with tqdm(
            unit=" articles", disable=not _show_progress(), desc=path.name, file=sys.stderr
        ) as bar:
            batch: list[tuple[str, ArticleInput]] = []
            for label, item in jsonl_items(path):
                if isinstance(item, str):
                    emit(IngestOutcome(label, "failed", reason=item))
                    bar.update(1)
                    continue
                batch.append((label, item))
                if len(batch) >= size:
                    submit(batch)
                    batch = []
                    if len(in_flight) > workers:
                        await store_oldest()
            if batch:
                submit(batch)
            while in_flight:
                await store_oldest()
            await service.finish_bulk()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


async def _ingest_file(service: NewsService, path: Path) -> IngestOutcome:
    label = str(path)
    suffix = path.suffix.lower()
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        return IngestOutcome(label, "failed", reason="no such file")
    except IsADirectoryError:
        return IngestOutcome(label, "failed", reason="is a folder, not a file")
    except OSError as e:
        return IngestOutcome(label, "failed", reason=f"cannot read it ({e.strerror})")
    if suffix in HTML_SUFFIXES:
        return await service.ingest_html(data, source_label=label)
    return await service.ingest_text(
        data.decode("utf-8-sig", errors="replace"),
        source_label=label,
        markdown=suffix in MARKDOWN_SUFFIXES,
    )


async def _ingest_urls(service: NewsService, urls: list[str], emit: _Printer) -> None:
    limit = asyncio.Semaphore(URL_CONCURRENCY)

    async def one(url: str) -> IngestOutcome:
        async with limit:
            return await service.ingest_url(url)

    tasks = [asyncio.create_task(one(url)) for url in urls]
    with tqdm(
        total=len(urls),
        unit=" links",
        disable=not _show_progress() or len(urls) < 3,
        file=sys.stderr,
    ) as bar:
        for task in tasks:  # print in the order given
            emit(await task)
            bar.update(1)


async def cmd_ingest(service: NewsService, args: argparse.Namespace) -> int:
    emit = _Printer(args.json, sys.stdout)
    urls: list[str] = []
    for source in args.sources:
        if is_web_url(source):
            urls.append(source)
            continue
        if urls:
            await _ingest_urls(service, urls, emit)
            urls = []
        if source == "-":
            text = sys.stdin.read()
            if text.lstrip().startswith("<"):
                emit(await service.ingest_html(text, source_label="stdin"))
            else:
                emit(await service.ingest_text(text, source_label="stdin"))
            continue
        path = Path(source)
        suffix = path.suffix.lower()
        if suffix in JSONL_SUFFIXES:
            if not await asyncio.to_thread(path.is_file):
                emit(IngestOutcome(source, "failed", reason="no such file"))
            else:
                await _ingest_jsonl(service, path, emit)
        elif suffix in TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES:
            emit(await _ingest_file(service, path))
        elif "://" in source:
            emit(IngestOutcome(source, "failed", reason="only http(s) links can be fetched"))
        else:
            emit(
                IngestOutcome(
                    source,
                    "failed",
                    reason="unsupported file type (use .txt, .md, .html or .jsonl, or a link)",
                )
            )
    if urls:
        await _ingest_urls(service, urls, emit)
    return 1 if emit.failed else 0
