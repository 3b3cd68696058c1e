"""The dev set's questions with one typo each, to measure how well misspelled names are found.

`python -m tests.bench.typo_questions ../shared/devset OUT.jsonl` writes the questions
(CC BY 2.5, like the dev set) with the rarest word of each (five letters or more, not the
first word; rarest by how many dev articles hold it) misspelled: two letters in its middle
swapped, or one changed where they are the same ("Thunberg" -> "Thunebrg"). Evaluate with
`newsbot eval ../shared/devset/articles.jsonl OUT.jsonl`.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from bot.evaluate import read_jsonl
from store.text import tokenize

_WORD = re.compile(r"[A-Za-z]+")


def misspelled(word: str) -> str:
    middle = len(word) // 2
    if word[middle - 1].lower() != word[middle].lower():
        return word[: middle - 1] + word[middle] + word[middle - 1] + word[middle + 1 :]
    return word[:middle] + ("e" if word[middle] == "a" else "a") + word[middle + 1 :]


def with_typos(devset: Path) -> list[dict[str, Any]]:
    holding: Counter[str] = Counter()
    for article in read_jsonl(devset / "articles.jsonl"):
        holding.update(set(tokenize(article["title"] + "\n" + article["text"])))
    questions = []
    for question in read_jsonl(devset / "questions.jsonl"):
        text = question["question"]
        rare = []
        for word in _WORD.findall(text)[1:]:
            terms = tokenize(word)
            if len(word) >= 5 and len(terms) == 1 and holding[terms[0]]:
                rare.append((holding[terms[0]], word))
        if rare:
            word = min(rare)[1]
            text = re.sub(rf"\b{word}\b", misspelled(word), text, count=1)
        questions.append({**question, "question": text})
    return questions


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.typo_questions", description=__doc__
    )
    parser.add_argument("devset", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    questions = with_typos(args.devset)
    with args.out.open("w", encoding="utf-8") as f:
        for question in questions:
            f.write(json.dumps(question, ensure_ascii=False) + "\n")
    print(f"{len(questions)} questions written to {args.out}")


if __name__ == "__main__":
    main()
