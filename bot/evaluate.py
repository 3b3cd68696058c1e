"""Answer quality: ask every question of a QA set and check where the answer shows up.

An answer counts when one of its strings (case- and quote-normalised) occurs in the quoted
`text` of a result. Reported for newsbot and, in the same run, for a plain BM25 baseline:
rank-bm25's Okapi over fixed 120-word chunks with the title prepended, no stemming.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rank_bm25 import BM25Okapi

from bot import extract
from bot.service import open_service
from bot.settings import Settings, with_database
from store.models import ArticleInput

_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "`": "'"})
_PLAIN_WORD = re.compile(r"\w+")


def normalise(text: str) -> str:
    return " ".join(text.translate(_QUOTES).casefold().split())


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]


@dataclass
class Scores:
    ranks: list[int | None] = field(default_factory=list)  # 0-based rank of the first hit

    def add(self, rank: int | None) -> None:
        self.ranks.append(rank)

    def top(self, k: int) -> float:
        return sum(1 for r in self.ranks if r is not None and r < k) / max(1, len(self.ranks))

    def mrr(self, k: int = 10) -> float:
        return sum(1 / (r + 1) for r in self.ranks if r is not None and r < k) / max(
            1, len(self.ranks)
        )

    def as_dict(self) -> dict[str, float]:
        return {"top1": self.top(1), "top3": self.top(3), "mrr10": self.mrr(10)}


@dataclass
class Report:
    newsbot: Scores = field(default_factory=Scores)
    baseline: Scores = field(default_factory=Scores)
    misses: list[dict[str, Any]] = field(default_factory=list)
    excerpt_words: list[int] = field(default_factory=list)
    articles: int = 0  # stored
    skipped: list[str] = field(default_factory=list)  # articles not stored, and why

    def as_dict(self) -> dict[str, Any]:
        return {
            "questions": len(self.newsbot.ranks),
            "articles": self.articles,
            "skipped_articles": self.skipped,
            "newsbot": self.newsbot.as_dict(),
            "baseline": self.baseline.as_dict(),
            "mean_excerpt_words": sum(self.excerpt_words) / max(1, len(self.excerpt_words)),
            "misses": self.misses,
        }


class EvalInputError(Exception):
    """A line of an eval file that cannot be read, named by file and line."""


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, JSON object) for each non-blank line."""
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise EvalInputError(f"{path} line {number}: not JSON ({e.msg})") from None
            if not isinstance(record, dict):
                raise EvalInputError(f"{path} line {number}: not a JSON object")
            yield number, record


def read_questions(path: Path) -> list[Question]:
    """Questions as {"question": ..., "answers": [...], "id": ...} lines; the id is optional
    (the line number stands in), and a single answer may be given as a string (or as
    "answer")."""
    questions = []
    for number, record in _records(path):
        question = record.get("question")
        answers = record.get("answers", record.get("answer"))
        if isinstance(answers, str):
            answers = [answers]
        if not isinstance(question, str) or not question.strip():
            raise EvalInputError(f'{path} line {number}: no "question" text')
        if (
            not isinstance(answers, list)
            or not answers
            or not all(isinstance(a, str | int | float) and str(a).strip() for a in answers)
        ):
            raise EvalInputError(f'{path} line {number}: "answers" must be a list of strings')
        ident = record.get("id")
        questions.append(
            Question(
                str(ident if ident is not None else number), question, tuple(map(str, answers))
            )
        )
    return questions


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON Lines file, in order."""
    for _, record in _records(path):
        yield record


def first_hit(texts: list[str], answers: tuple[str, ...]) -> int | None:
    wanted = [normalise(a) for a in answers]
    for rank, text in enumerate(texts):
        normal = normalise(text)
        if any(a in normal for a in wanted):
            return rank
    return None


def _article(record: dict[str, Any]) -> ArticleInput:
    """An eval article from its record, as `newsbot ingest` reads it, except that a field
    only the answer's attribution needs (an odd link or date, a non-text title or source)
    is left out rather than the article: its text is what the questions are about."""
    try:
        return extract.from_record(record)
    except extract.ExtractError:
        if not isinstance(record.get("text"), str) or not record["text"].strip():
            raise
    lenient = {"text": record["text"]}
    for key in ("url", "title", "source", "published"):
        try:
            extract.from_record({**lenient, key: record.get(key)})
        except extract.ExtractError:
            continue
        lenient[key] = record.get(key)
    return extract.from_record(lenient)


class PlainBM25:
    """The baseline: 120-word chunks with the title prepended, lower-cased words."""

    def __init__(self, articles: list[dict[str, Any]], words: int = 120) -> None:
        self.chunks: list[str] = []
        for article in articles:
            tokens = str(article.get("text") or "").split()
            for start in range(0, len(tokens), words):
                self.chunks.append(
                    f"{article.get('title') or ''}\n" + " ".join(tokens[start : start + words])
                )
        self.bm25 = BM25Okapi([self._tokens(c) for c in self.chunks])

    @staticmethod
    def _tokens(text: str) -> list[str]:
        return _PLAIN_WORD.findall(text.lower())

    def search(self, question: str, k: int = 10) -> list[str]:
        scores = self.bm25.get_scores(self._tokens(question))
        best = sorted(range(len(scores)), key=lambda i: -scores[i])[:k]
        return [self.chunks[i] for i in best if scores[i] > 0]


async def evaluate(
    settings: Settings, articles_path: Path, questions_path: Path, k: int = 10
) -> Report:
    numbered = list(_records(articles_path))
    articles = [record for _, record in numbered]
    questions = read_questions(questions_path)
    report = Report()
    baseline = PlainBM25(articles)
    with tempfile.TemporaryDirectory(prefix="newsbot-eval-") as tmp:
        settings = with_database(settings, str(Path(tmp) / "eval.db"))
        async with open_service(settings, fetching=False) as service:
            items = []
            for number, record in numbered:
                try:
                    items.append((f"{articles_path}:{number}", _article(record)))
                except extract.ExtractError as e:
                    report.skipped.append(f"line {number}: {e}")
            report.articles = len(items)
            size = settings.ingest.batch_size
            for start in range(0, len(items), size):
                await service.ingest_articles(items[start : start + size], bulk=True)
            await service.finish_bulk()
            for q in questions:
                page = await service.ask(q.question, k)
                texts = [hit.text for hit in page.hits]
                rank = first_hit(texts, q.answers)
                report.newsbot.add(rank)
                report.baseline.add(first_hit(baseline.search(q.question, k), q.answers))
                if texts:
                    report.excerpt_words.append(len(texts[0].split()))
                if rank != 0:
                    report.misses.append(
                        {
                            "id": q.id,
                            "question": q.question,
                            "answers": list(q.answers),
                            "rank": rank,
                            "returned": texts[0] if texts else None,
                        }
                    )
    return report
