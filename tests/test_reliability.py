"""Evidence that nothing is lost or corrupted: backups, kill -9 mid-batch, concurrent
writers, and the outbox across a crash."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.service import store_config
from bot.settings import Settings
from store import postings
from store.db import Store
from tests.fakebot import TOKEN, Failure, FakeBotAPI, user
from tests.helpers import DATA, document_frequencies, eventually

NEWSBOT = str(Path(sys.executable).parent / "newsbot")


def _articles(path: Path, count: int, prefix: str = "story") -> None:
    with path.open("w") as f:
        for i in range(count):
            f.write(
                json.dumps(
                    {
                        "url": f"https://bulk.test/{prefix}/{i}",
                        "title": f"Bulk {prefix} {i}",
                        "published": "2026-11-20",
                        "text": f"Report {i} from the {prefix} desk. "
                        + " ".join(f"word{(i * 7 + j) % 997}" for j in range(150))
                        + ".",
                    }
                )
                + "\n"
            )


def _spawned_workers() -> set[int]:
    """Process ids of multiprocessing workers on this machine (from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"multiprocessing.spawn" in command:
                found.add(int(entry.name))
    return found


def _check_consistent(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert postings.problems(conn) == []
    assert dict(conn.execute("SELECT term, df FROM term_stats")) == document_frequencies(conn)
    (orphans,) = conn.execute(
        "SELECT count(*) FROM articles a WHERE NOT EXISTS"
        " (SELECT 1 FROM passages p WHERE p.article_id = a.id)"
    ).fetchone()
    assert orphans == 0  # no article stored without its passages
    (passages, stats) = conn.execute(
        "SELECT (SELECT count(*) FROM passages), passages FROM corpus_stats"
    ).fetchone()
    assert passages == stats
    return conn


async def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        NEWSBOT,
        *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode(), err.decode()


async def test_kill_9_mid_batch_leaves_a_consistent_database(tmp_path: Path) -> None:
    source = tmp_path / "bulk.jsonl"
    _articles(source, 3000)
    db = tmp_path / "crash.db"
    settings_file = tmp_path / "small-batches.toml"
    settings_file.write_text("[ingest]\nbatch_size = 50\n")
    before = _spawned_workers()
    process = await asyncio.create_subprocess_exec(
        NEWSBOT,
        "--db",
        str(db),
        "--settings",
        str(settings_file),
        "ingest",
        str(source),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    async def some_stored() -> bool:
        if not db.exists():
            return False
        try:
            with sqlite3.connect(db, timeout=5) as conn:
                return bool(conn.execute("SELECT count(*) FROM articles").fetchone()[0] >= 100)
        except sqlite3.OperationalError:
            return False  # not created yet

    await eventually(some_stored, 60)
    process.send_signal(signal.SIGKILL)
    await process.wait()

    async def no_orphans() -> bool:
        return not (_spawned_workers() - before)

    await eventually(no_orphans, 20)  # its preparing workers end too
    conn = _check_consistent(db)
    (stored,) = conn.execute("SELECT count(*) FROM articles").fetchone()
    conn.close()
    assert 100 <= stored < 3000, "the kill should land mid-way"
    assert stored % 50 == 0  # whole batches only: nothing half-stored
    code, out, _ = await _run("--db", str(db), "ingest", "--json", str(source))
    statuses = [json.loads(line)["status"] for line in out.splitlines()]
    assert code == 0
    assert statuses.count("already stored") == stored
    assert statuses.count("saved") == 3000 - stored
    _check_consistent(db).close()


async def test_the_bot_and_two_ingests_write_at_once(settings: Settings, tmp_path: Path) -> None:
    from tests.botharness import bot_settings, running_bot

    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    _articles(first, 400, "shared")
    _articles(second, 400, "shared")  # the same stories: stored once whoever comes first
    db = settings.database.path
    fake = FakeBotAPI()
    await fake.start()
    try:
        async with running_bot(bot_settings(settings, fake)):
            alice = user(1001, "Alice")
            ingests = [
                asyncio.create_task(_run("--db", db, "ingest", str(path)))
                for path in (first, second)
            ]
            for i in range(20):
                await fake.message(f"Report {i} from the shared desk", sender=alice)
            results = await asyncio.gather(*ingests)
            replies = [await fake.reply(alice["id"], after=i, timeout=60) for i in range(20)]
    finally:
        await fake.close()
    for code, _, err in results:
        assert code == 0, err
        assert "locked" not in err
    assert all(r["visible"] for r in replies)
    conn = _check_consistent(Path(db))
    assert conn.execute(
        "SELECT count(*), count(DISTINCT canonical_url) FROM articles"
    ).fetchone() == (400, 400)


async def test_pending_alerts_survive_a_kill_9_of_the_bot(
    settings: Settings, tmp_path: Path
) -> None:
    fake = FakeBotAPI()
    await fake.start()
    db = settings.database.path
    env = {"NEWSBOT_DB": db, "TELEGRAM_BOT_TOKEN": TOKEN}
    alice = user(1001, "Alice")

    async def start_bot() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            NEWSBOT,
            "run",
            "--api-url",
            fake.url,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    try:
        fake.fail(
            "sendMessage",
            Failure(
                500,
                "Internal Server Error",
                times=10**6,
                when=lambda p: "🔔" in str(p.get("text", "")),
            ),
        )
        bot = await start_bot()
        await fake.message("/subscribe heron", sender=alice)
        await fake.reply(alice["id"], timeout=60)
        code, _, _ = await _run("--db", db, "ingest", str(DATA / "sample.jsonl"))
        assert code == 0
        await fake.wait_for(
            lambda: [p for p in fake.method_calls("sendMessage") if "🔔" in str(p.get("text"))],
            timeout=30,
        )
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
        fake.failures.clear()
        bot = await start_bot()
        alerts = await fake.wait_for(
            lambda: [m for m in fake.sent_to(alice["id"]) if m["visible"].startswith("🔔")],
            timeout=60,
        )
        assert "purple heron" in alerts[0]["visible"].lower()
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), 30)
    finally:
        await fake.close()
    assert len([m for m in fake.sent_to(alice["id"]) if m["visible"].startswith("🔔")]) == 1


def test_backup_and_restore(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    db = tmp_path / "live.db"
    assert main(["--db", str(db), "ingest", str(DATA / "sample.jsonl")]) == 0
    capsys.readouterr()
    copy = tmp_path / "copy.db"
    assert main(["--db", str(db), "backup", str(copy)]) == 0
    assert capsys.readouterr().out.startswith(f"backed up 8 articles to {copy} (")
    assert main(["--db", str(db), "backup", str(copy)]) == 1
    assert "exists; use --force" in capsys.readouterr().err
    assert main(["--db", str(db), "backup", "--force", str(copy)]) == 0
    assert main(["--db", str(db), "backup", str(db)]) == 1
    capsys.readouterr()
    db.unlink()
    copy.rename(db)  # restore: the copy is a complete database
    assert main(["--db", str(db), "ask", "--json", "purple heron"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["title"].startswith("Rare purple")
    store = Store(store_config(settings))
    assert store.integrity_problems() == []
