"""A harder variant of the dev set: the real articles plus near-miss distractors.

`python -m tests.bench.hard_devset ../shared/devset OUT_DIR [--per-article 10] [--seed 7]`
writes OUT_DIR/articles.jsonl (the dev set's own articles, CC BY 2.5, plus distractors
derived from them under the same licence) for `newsbot eval OUT_DIR/articles.jsonl
../shared/devset/questions.jsonl`. Two kinds of distractor per article:

- follow-ups: the article's own sentences, shuffled and with every sentence that holds an
  answer to any question removed, under a reworded title (same people, places and words;
  no answer);
- namesakes: another article's sentences with the article's names swapped in.

No distractor contains any answer string of any question, so a hit still means the real
article was found.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path
from typing import Any

from bot.evaluate import normalise, read_jsonl

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
_NAME = re.compile(r"(?<=[a-z,;] )[A-Z][a-z]{2,}(?: [A-Z][a-z]{2,})*")
_REWORDINGS = ("Update: ", "Follow-up: ", "Analysis: ", "Reactions: ", "More on ")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(" ".join(text.split())) if s.strip()]


def build(devset: Path, per_article: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    articles = list(read_jsonl(devset / "articles.jsonl"))
    answers = [normalise(a) for q in read_jsonl(devset / "questions.jsonl") for a in q["answers"]]

    def clean(sentence: str) -> bool:
        normal = normalise(sentence)
        return not any(a in normal for a in answers)

    out = list(articles)
    for article in articles:
        own = [s for s in _sentences(article["text"]) if clean(s)]
        names = list(dict.fromkeys(_NAME.findall(article["text"])))[:8] or ["Officials"]
        for number in range(per_article):
            if number % 2 == 0 and len(own) >= 3:
                picked = rng.sample(own, min(len(own), rng.randint(3, 8)))
                title = rng.choice(_REWORDINGS) + article["title"]
            else:
                other = rng.choice(articles)
                picked = []
                for sentence in _sentences(other["text"])[:10]:
                    swapped = _NAME.sub(rng.choice(names).replace("\\", ""), sentence, count=1)
                    if clean(swapped):
                        picked.append(swapped)
                title = f"{rng.choice(names)}: {other['title']}"
            if not picked:
                continue
            out.append(
                {
                    "id": f"{article['id']}-d{number}",
                    "title": title,
                    "url": f"https://distractors.test/{article['id']}/{number}",
                    "published": article.get("published"),
                    "source": "distractor (derived from Wikinews, CC BY 2.5)",
                    "text": "\n\n".join(
                        " ".join(picked[i : i + 3]) for i in range(0, len(picked), 3)
                    ),
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.hard_devset", description=__doc__)
    parser.add_argument("devset", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-article", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    articles = build(args.devset, args.per_article, args.seed)
    with (args.out / "articles.jsonl").open("w", encoding="utf-8") as f:
        for article in articles:
            f.write(json.dumps(article, ensure_ascii=False) + "\n")
    print(f"{len(articles)} articles written to {args.out / 'articles.jsonl'}")


if __name__ == "__main__":
    main()
