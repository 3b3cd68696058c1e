"""The benchmark's fast mode (N=10k) as a smoke test; the full sizes run by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
FIGURES = [
    "ingest passages/s",
    "rank top 10 median ms",
    "rank top 10 p95 ms",
    "answer median ms",
    "answer p95 ms",
    "bytes/passage",
    "peak RSS MB",
    "bot round trip median ms",
    "bot round trip p95 ms",
    "baseline median ms",
    "baseline p95 ms",
    "top-10 overlap",
    "match ms/article",
]


def test_benchmark_fast_mode_runs_and_reports_every_figure() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.bench",
            "--passages",
            "10000",
            "--queries",
            "20",
            "--subscriptions",
            "500",
            "--round-trips",
            "10",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = {line[:28].strip(): line[28:].split() for line in result.stdout.splitlines()}
    for figure in FIGURES:
        assert figure in rows, f"missing {figure}"
        assert float(rows[figure][0].replace(",", "")) >= 0
    # The first 10 are exactly exhaustive BM25's (store/postings.py proves it per query).
    assert float(rows["top-10 overlap"][0]) >= 0.999
