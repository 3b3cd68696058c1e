from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import BaseTestServer, TestServer

from bot.cli import build_parser, main
from tests.helpers import DATA

README = Path(__file__).parent.parent / "README.md"


@pytest.fixture(autouse=True)
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("NEWSBOT_DB", str(db))
    monkeypatch.delenv("NEWSBOT_ALLOW_PRIVATE_URLS", raising=False)
    return db


def run(
    capsys: pytest.CaptureFixture[str],
    *argv: str,
    stdin: str | None = None,
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> tuple[int, str, str]:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ingest_then_reingest_then_ask(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ingest", str(DATA / "sample.jsonl"))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 8
    assert lines[0] == "saved: Harrow council approves new footbridge over the Lune (3 passages)"
    code, out, _ = run(capsys, "ingest", str(DATA / "sample.jsonl"))
    assert code == 0 and all(line.startswith("already stored: ") for line in out.splitlines())

    code, out, _ = run(capsys, "ask", "How", "much", "will", "the", "footbridge", "cost?")
    assert code == 0
    assert "4.2 million pounds" in out
    assert "https://example-news.test/2026/11/harrow-bridge-vote" in out
    assert "Harrow Courier" in out


def test_ask_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "ingest", str(DATA / "sample.jsonl"))
    code, out, _ = run(capsys, "ask", "--json", "--limit", "2", "purple heron reserve")
    assert code == 0
    answer = json.loads(out)
    assert answer["query"] == "purple heron reserve"
    assert len(answer["results"]) <= 2
    best = answer["results"][0]
    assert set(best) == {"url", "title", "source", "published", "text", "score"}
    assert answer["missing_phrases"] == []
    assert answer["missing_words"] == [] and answer["respelled"] == []
    assert best["url"] == "https://northern-wire.test/heron-sighting"
    assert best["published"] == "2026-11-10"
    assert "purple heron" in best["text"]
    scores = [r["score"] for r in answer["results"]]
    assert scores == sorted(scores, reverse=True)


def test_ask_json_names_a_respelled_word(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "ingest", str(DATA / "sample.jsonl"))
    code, out, _ = run(capsys, "ask", "--json", "--limit", "1", "heron at Leigton Moss")
    assert code == 0
    answer = json.loads(out)
    assert answer["results"][0]["url"] == "https://northern-wire.test/heron-sighting"
    assert answer["missing_words"] == ["Leigton"]
    assert answer["respelled"] == [{"typed": "Leigton", "searched": "Leighton"}]
    code, out, _ = run(capsys, "ask", "heron at Leigton Moss")
    assert code == 0
    assert out.rstrip().endswith(
        "No stored article mentions “Leigton”. Searched for “Leighton” instead."
    )


def test_remove_deletes_stored_articles_by_link(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "ingest", str(DATA / "sample.jsonl"))
    code, out, _ = run(
        capsys,
        "remove",
        "https://www.northern-wire.test/heron-sighting?utm_source=x",
        "https://northern-wire.test/nothing",
        "heron",
    )
    assert code == 1
    assert out.splitlines() == [
        "removed: Rare purple heron spotted at Leighton Moss reserve "
        "(https://northern-wire.test/heron-sighting)",
        "failed: https://northern-wire.test/nothing: no article is stored at that link",
        "failed: heron: not an http(s) link",
    ]
    code, out, _ = run(capsys, "ask", "--json", "purple heron Leighton Moss")
    assert "heron-sighting" not in out
    code, out, _ = run(capsys, "ingest", str(DATA / "sample.jsonl"))
    assert "saved: Rare purple heron spotted at Leighton Moss reserve" in out


def test_ask_reads_questions_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, "ingest", str(DATA / "sample.jsonl"))
    code, out, _ = run(
        capsys,
        "ask",
        "--json",
        stdin="rail strike December\n\nKelvra jobs\n",
        monkeypatch=monkeypatch,
    )
    answers = [json.loads(line) for line in out.splitlines()]
    assert [a["query"] for a in answers] == ["rail strike December", "Kelvra jobs"]
    assert answers[1]["results"][0]["title"] == "Software firm Kelvra to cut 300 jobs"
    code, out, _ = run(capsys, "ask", stdin="Kelvra jobs\n", monkeypatch=monkeypatch)
    assert code == 0
    assert out.startswith("Q: Kelvra jobs\n")


def test_empty_database_answers_nothing_yet(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "ask", "anything new?")
    assert code == 0 and "Nothing on that yet" in out
    code, out, _ = run(capsys, "ask", "--json", "what?")
    assert json.loads(out) == {
        "query": "what?",
        "results": [],
        "missing_phrases": [],
        "missing_words": [],
        "respelled": [],
    }


def test_a_bad_jsonl_line_fails_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = (DATA / "sample.jsonl").read_text().splitlines()
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join([good[0], "{not json", '{"title": "no text"}', good[1], ""]))
    code, out, _ = run(capsys, "ingest", "--json", str(mixed))
    assert code == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["status"] for r in rows] == ["failed", "failed", "saved", "saved"]
    assert rows[0]["source"].endswith("mixed.jsonl:2") and "not valid JSON" in rows[0]["reason"]
    assert "text" in rows[1]["reason"]
    code, out, _ = run(capsys, "stats", "--json")
    assert json.loads(out)["articles"] == 2


def test_files_stdin_and_failures(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, out, _ = run(
        capsys,
        "ingest",
        str(DATA / "article.html"),
        str(DATA / "note.txt"),
        str(DATA / "brief.md"),
        str(tmp_path / "missing.txt"),
        "report.pdf",
        "ftp://x.test/a",
    )
    assert code == 1
    assert out.splitlines() == [
        "saved: Ferry service to Piel Island suspended after storm damage (2 passages)",
        "saved: Bus fares in Harrow to be capped at two pounds (2 passages)",
        "saved: Harrow market moves indoors for the winter (1 passage)",
        f"failed: {tmp_path / 'missing.txt'}: no such file",
        "failed: report.pdf: unsupported file type (use .txt, .md, .html or .jsonl, or a link)",
        "failed: ftp://x.test/a: only http(s) links can be fetched",
    ]
    code, out, _ = run(
        capsys,
        "ingest",
        "-",
        stdin="Otters seen in the canal\nA family of "
        "otters was seen in the canal near the mill this week.",
        monkeypatch=monkeypatch,
    )
    assert code == 0 and out == "saved: Otters seen in the canal (1 passage)\n"
    code, out, _ = run(capsys, "ingest", "-", stdin="   ", monkeypatch=monkeypatch)
    assert code == 1 and "no text" in out


def _news_app() -> web.Application:
    page = (DATA / "article.html").read_bytes()

    async def article(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html")

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/piel", article)
    app.router.add_get("/gone", missing)
    return app


@pytest.fixture
async def news_server() -> AsyncIterator[BaseTestServer]:
    async with TestServer(_news_app(), host="127.0.0.1") as srv:
        yield srv


async def test_ingest_urls(
    news_server: BaseTestServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A real process, as a user runs it; loopback is allowed only through the switch.
    url = str(news_server.make_url("/piel"))
    gone = str(news_server.make_url("/gone"))
    exe = shutil.which("newsbot") or str(Path(sys.executable).parent / "newsbot")
    env = {"PATH": str(Path(sys.executable).parent), "NEWSBOT_DB": str(tmp_path / "u.db")}
    import asyncio

    async def newsbot(*args: str, **extra: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            exe, *args, env={**env, **extra}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode or 0, out.decode()

    code, out = await newsbot("ingest", url)
    assert code == 1 and "internal address" in out
    code, out = await newsbot("ingest", url, gone, NEWSBOT_ALLOW_PRIVATE_URLS="1")
    assert code == 1
    assert out.splitlines() == [
        "saved: Ferry service to Piel Island suspended after storm damage (2 passages)",
        f"failed: {gone}: page not found (404)",
    ]
    code, out = await newsbot("ask", "--json", "Piel ferry jetty")
    # The page's canonical link names another site, so the address it came from is kept.
    assert json.loads(out)["results"][0]["url"] == url


def test_chat(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    run(capsys, "ingest", str(DATA / "sample.jsonl"))
    code, out, _ = run(
        capsys,
        "chat",
        stdin="/help\nwho scored for Harrow Athletic?\n/nope\n/stats\n/quit\nnever reached\n",
        monkeypatch=monkeypatch,
    )
    assert code == 0
    assert "Ask a question" in out
    assert "Striker Jonah Pike scored twice" in out
    assert "Unknown command /nope" in out
    assert "8 articles" in out
    assert "never reached" not in out


@pytest.mark.parametrize(
    "argv",
    [
        ["frobnicate"],
        ["ask", "--limit", "0", "x"],
        ["ask", "--limit", "many", "x"],
        ["ingest"],
        ["--bogus"],
        [],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        code = main(argv)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    assert "usage: newsbot" in capsys.readouterr().err


def test_options_work_before_and_after_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "other.db"
    run(capsys, "--db", str(db), "ingest", str(DATA / "note.txt"))
    code, out, _ = run(capsys, "stats", "--json", "--db", str(db))
    assert code == 0
    assert json.loads(out)["articles"] == 1 and json.loads(out)["database"] == str(db)


def test_bad_settings_and_databases_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "s.toml"
    bad.write_text("[search]\nmax_results = 'three'\n")
    code, _, err = run(capsys, "--settings", str(bad), "stats")
    assert code == 1 and "search.max_results must be a whole number" in err
    code, _, err = run(capsys, "--db", str(tmp_path / "nope" / "x.db"), "stats")
    assert code == 1 and "does not exist" in err


def test_every_command_in_the_readme_exists() -> None:
    subparsers = next(
        a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    commands = set(subparsers.choices)
    text = README.read_text()
    blocks = re.findall(r"^ *```\w*\n(.*?)^ *```", text, re.DOTALL | re.MULTILINE)
    shown = "\n".join(line.strip() for block in blocks for line in block.splitlines())
    shown += "\n" + "\n".join(re.findall(r"`(newsbot [^`]*)`", text))
    used = set(re.findall(r"^(?:.*\| )?newsbot (?:--?\S+ \S+ )*([a-z]+)", shown, re.MULTILINE))
    assert used, "the README shows no newsbot commands"
    assert used <= commands, used - commands


def test_parallel_preparation_stores_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    import bot.ingest_command

    source = tmp_path / "many.jsonl"
    lines = (DATA / "sample.jsonl").read_text().splitlines()
    source.write_text("\n".join([*lines, "{broken", *lines]) + "\n")

    def ingest(db: Path) -> list[str]:
        assert main(["--db", str(db), "ingest", str(source)]) == 1
        return capsys.readouterr().out.splitlines()

    serial = ingest(tmp_path / "serial.db")
    monkeypatch.setattr(bot.ingest_command, "PARALLEL_BYTES", 0)
    parallel = ingest(tmp_path / "parallel.db")
    assert parallel == serial
    assert sum(line.startswith("saved: ") for line in parallel) == 8
    assert sum(line.startswith("already stored: ") for line in parallel) == 8

    def content(db: Path) -> list[tuple[object, ...]]:
        with sqlite3.connect(db) as conn:
            return conn.execute(
                "SELECT a.title, p.position, p.start, p.end, p.terms FROM passages p"
                " JOIN articles a ON a.id = p.article_id ORDER BY a.title, p.position"
            ).fetchall()

    assert content(tmp_path / "parallel.db") == content(tmp_path / "serial.db")
