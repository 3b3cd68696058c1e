"""Benchmark: `python -m tests.bench [--passages N ...]`.

Prints, side by side in one run on the same corpus and queries: ingest throughput, query
latency (median, p95; in-process, warm) for newsbot and for a naive baseline
(rank_bm25.BM25Okapi over all passages, get_scores per query), peak RSS, database size per
passage, and the overlap of newsbot's top 10 with exhaustive BM25 over every passage (same
tokenizer, same formula). newsbot's latency is given twice: ranking the top 10 passages (what
the baseline does) and a whole answer (ranking, then choosing and quoting the sentence
window of each leading article).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi, BM25Plus

from bot.extract import from_record
from bot.service import open_service
from bot.settings import Settings, load_settings
from store.db import Store
from store.text import query_terms
from tests.bench.corpus import Corpus

PASSAGES_PER_ARTICLE = 4


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _ingest(db: Path, articles: list[dict[str, object]]) -> float:
    """Store articles in-process (used by profiling scripts and small experiments)."""
    settings = load_settings(environ={"NEWSBOT_DB": str(db)})
    start = time.perf_counter()
    async with open_service(settings, fetching=False) as service:
        batch = settings.ingest.batch_size
        for i in range(0, len(articles), batch):
            chunk = articles[i : i + batch]
            await service.ingest_articles([(str(a["url"]), from_record(a)) for a in chunk])
    return time.perf_counter() - start


def _ingest_jsonl(db: Path, corpus: Corpus, articles: int) -> float:
    """Write the corpus to JSON Lines, then time `newsbot ingest` on it, as a user runs it."""
    source = db.with_suffix(".jsonl")
    with source.open("w") as f:
        for article in corpus.articles(articles, PASSAGES_PER_ARTICLE):
            f.write(json.dumps(article) + "\n")
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(db), "ingest", str(source)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - start
    source.unlink()
    return elapsed


async def _round_trips(settings: Settings, questions: list[str]) -> list[float]:
    """Update in, reply out: the real bot against the fake Bot API server, one at a time."""
    from tests.botharness import bot_settings, running_bot
    from tests.fakebot import FakeBotAPI, user

    fake = FakeBotAPI()
    await fake.start()
    someone = user(77, "Bench")
    times = []
    try:
        async with running_bot(bot_settings(settings, fake)):
            for number, question in enumerate(questions):
                start = time.perf_counter()
                await fake.message(question, sender=someone)
                await fake.reply(someone["id"], after=number, timeout=60)
                times.append((time.perf_counter() - start) * 1000)
    finally:
        await fake.close()
    return times


def run(
    passages: int,
    queries: int,
    baseline: bool,
    seed: int,
    subscriptions: int,
    round_trips: int = 0,
) -> dict[str, float]:
    corpus = Corpus(seed=seed)
    questions = corpus.queries(queries)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        seconds = _ingest_jsonl(db, corpus, max(1, passages // PASSAGES_PER_ARTICLE))
        settings = load_settings(environ={"NEWSBOT_DB": str(db)})
        from bot.service import store_config

        store = Store(store_config(settings))
        stats = store.stats()
        for q in questions[:10]:  # warm up caches
            store.search(q, 3)
        latencies, ranking = [], []
        for q in questions:
            t = time.perf_counter()
            store.search(q, 3)
            latencies.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            store.rank(q, 10)
            ranking.append((time.perf_counter() - t) * 1000)
        result = {
            "passages": stats.passages,
            "ingest passages/s": stats.passages / seconds,
            "ingest seconds": seconds,
            "rank top 10 median ms": statistics.median(ranking),
            "rank top 10 p95 ms": _pct(ranking, 0.95),
            "answer median ms": statistics.median(latencies),
            "answer p95 ms": _pct(latencies, 0.95),
            "bytes/passage": stats.database_bytes / max(1, stats.passages),
            "peak RSS MB": _rss_mb(),
        }
        if round_trips:
            trips = asyncio.run(_round_trips(settings, questions[:round_trips]))
            result["bot round trip median ms"] = statistics.median(trips)
            result["bot round trip p95 ms"] = _pct(trips, 0.95)
        if baseline:
            ids, docs = zip(*store.all_passage_terms(), strict=True)
            naive = BM25Okapi(list(docs))
            exhaustive = BM25Plus(list(docs), delta=0.0)
            naive_ms, overlaps = [], []
            for q in questions:
                terms = query_terms(q)
                t = time.perf_counter()
                naive.get_scores(terms)
                naive_ms.append((time.perf_counter() - t) * 1000)
                # The terms newsbot searched for, at its weights (a word in no passage is
                # searched for as its likeliest spelling: see store/spelling.py).
                scores = np.zeros(len(ids))
                for term, weight in store.searched_terms(q).items():
                    scores += exhaustive.get_scores([term]) * (weight / exhaustive.idf[term])
                best = sorted(range(len(ids)), key=lambda i: (-scores[i], -ids[i]))[:10]
                truth = {ids[i] for i in best if scores[i] > 0}
                ours = {pid for pid, _ in store.rank(q, 10)}
                if truth:
                    overlaps.append(len(ours & truth) / len(truth))
            result["baseline median ms"] = statistics.median(naive_ms)
            result["baseline p95 ms"] = _pct(naive_ms, 0.95)
            result["top-10 overlap"] = statistics.mean(overlaps) if overlaps else 1.0
        result["match ms/article"], result["alerts/article"] = _matching(
            store, corpus, subscriptions
        )
        store.close()
    return result


def _matching(store: Store, corpus: Corpus, subscriptions: int) -> tuple[float, float]:
    """Time matching new articles against ``subscriptions`` topics of 1-3 words."""
    for chat_id, topic in enumerate(corpus.topics(subscriptions)):
        store.add_subscription(chat_id, chat_id, topic, "instant")
    store.match_new_articles(10**9)  # the corpus itself is old news
    fresh = [from_record(a) for a in corpus.articles(100, PASSAGES_PER_ARTICLE)]
    fresh = [dataclasses.replace(a, url=None, canonical_url=None) for a in fresh]
    store.add_articles(fresh)
    start = time.perf_counter()
    matched = store.match_new_articles(1000)
    elapsed = (time.perf_counter() - start) * 1000 / max(1, matched)
    (alerts,) = store.conn.execute("SELECT count(*) FROM outbox").fetchone()
    return elapsed, alerts / max(1, matched)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--passages", type=int, nargs="+", default=[10_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--subscriptions",
        type=int,
        default=10_000,
        help="alert topics to match new articles against",
    )
    parser.add_argument(
        "--round-trips",
        type=int,
        default=50,
        help="bot questions timed end to end through the fake Bot API",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive baseline")
    args = parser.parse_args()
    rows = [
        run(n, args.queries, not args.no_baseline, args.seed, args.subscriptions, args.round_trips)
        for n in args.passages
    ]
    keys = list(rows[0])
    print(f"{'figure':<28}" + "".join(f"{int(r['passages']):>14,}" for r in rows))
    for key in keys[1:]:
        print(
            f"{key:<28}"
            + "".join(
                f"{r[key]:>14.3f}"
                if key in r and r[key] < 10
                else f"{r.get(key, float('nan')):>14.1f}"
                for r in rows
            )
        )


if __name__ == "__main__":
    main()
