"""`newsbot run` as a user starts it: a real process, the fake Bot API, signals to stop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.fakebot import TOKEN, FakeBotAPI, user

ALICE = user(1001, "Alice")
NEWSBOT = str(Path(sys.executable).parent / "newsbot")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_"))}
    return {**env, "NEWSBOT_DB": str(tmp_path / "run.db"), **extra}


async def _start(tmp_path: Path, fake: FakeBotAPI) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        NEWSBOT,
        "-v",
        "run",
        "--api-url",
        fake.url,
        env=_env(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def _stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode or 0, err.decode()


def test_without_a_token_it_explains_how_to_get_one(tmp_path: Path) -> None:
    result = subprocess.run(
        [NEWSBOT, "run"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "@BotFather" in result.stderr and "TELEGRAM_BOT_TOKEN" in result.stderr
    assert "newsbot chat" in result.stderr


async def test_run_serves_stops_on_sigterm_and_keeps_everything(
    tmp_path: Path, fake: FakeBotAPI
) -> None:
    process = await _start(tmp_path, fake)
    text = (
        "The council will plant two hundred oak trees along the ring road this winter, "
        "paid for by a national tree fund."
    )
    origin = {"type": "hidden_user", "sender_user_name": "Dan", "date": 1764000000}
    await fake.message(text, sender=ALICE, forward_origin=origin)
    saved = await fake.reply(ALICE["id"], timeout=60)
    assert saved["visible"].startswith("Saved: ")
    code, err = await _stop(process)
    assert code == 0, err
    assert TOKEN not in err and TOKEN.split(":")[1] not in err
    assert "newsbot is running as @newsbot_test_bot" in err

    # Stored for good: the CLI sees it, and a new bot process answers from it.
    ask = await asyncio.create_subprocess_exec(
        NEWSBOT,
        "ask",
        "--json",
        "oak trees ring road",
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(ask.communicate(), 60)
    assert json.loads(out)["results"][0]["source"] == "Dan"
    process = await _start(tmp_path, fake)
    await fake.message("how many oak trees?", sender=ALICE)
    answer = await fake.reply(ALICE["id"], after=1, timeout=60)
    assert "two hundred oak trees" in answer["visible"]
    code, err = await _stop(process)
    assert code == 0, err


async def test_a_rejected_token_is_a_clear_error(tmp_path: Path, fake: FakeBotAPI) -> None:
    process = await asyncio.create_subprocess_exec(
        NEWSBOT,
        "run",
        "--api-url",
        fake.url,
        env=_env(tmp_path, TELEGRAM_BOT_TOKEN="999:wrong"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert "rejected the token" in err.decode()


def test_a_bad_database_path_is_reported_before_connecting(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            NEWSBOT,
            "--db",
            str(tmp_path / "missing" / "x.db"),
            "run",
            "--api-url",
            "http://127.0.0.1:9",
        ],
        env=_env(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "folder" in result.stderr and "does not exist" in result.stderr
