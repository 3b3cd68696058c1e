"""A reproducible synthetic news-like corpus: Zipf-distributed vocabulary, real sentence shape.

The same seed gives the same articles and queries on every machine.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

# Common English function words keep the text looking like prose (and exercise stop words).
FUNCTION_WORDS = (
    "the of and to in a is that for on was with he it as at by from his has have an be are "
    "its were which this but had not they their been after who more also will would said "
    "about when one two new over than into could last year first people"
).split()
SYLLABLES = (
    "ba be bi bo bu da de di do du ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu "
    "ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo vu za ze zi zo zu an en in on un "
    "ar er ir or ur al el il ol ul str pl tr gr br kr"
).split()


def vocabulary(size: int, rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


class Corpus:
    def __init__(self, seed: int = 7, vocabulary_size: int = 60_000, zipf_s: float = 1.07) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary(vocabulary_size, self.rng)
        weights = [1 / (rank**zipf_s) for rank in range(1, vocabulary_size + 1)]
        total = sum(weights)
        self.cumulative: list[float] = []
        acc = 0.0
        for w in weights:
            acc += w / total
            self.cumulative.append(acc)

    def word(self) -> str:
        if self.rng.random() < 0.35:
            return self.rng.choice(FUNCTION_WORDS)
        return self.rng.choices(self.words, cum_weights=self.cumulative, k=1)[0]

    def sentence(self) -> str:
        words = [self.word() for _ in range(self.rng.randint(8, 24))]
        if self.rng.random() < 0.3:
            words.insert(self.rng.randrange(len(words)), str(self.rng.randint(2, 2030)))
        return " ".join(words).capitalize() + "."

    def article(self, number: int, passages: int = 4) -> dict[str, object]:
        paragraphs = []
        for _ in range(passages):
            sentences: list[str] = []
            while sum(len(s.split()) for s in sentences) < self.rng.randint(60, 110):
                sentences.append(self.sentence())
            paragraphs.append(" ".join(sentences))
        return {
            "url": f"https://bench.test/{number}",
            "title": self.sentence().rstrip(".")[:80],
            "published": f"2026-{1 + number % 12:02d}-{1 + number % 28:02d}",
            "source": f"Bench Wire {number % 17}",
            "text": "\n\n".join(paragraphs),
        }

    def articles(self, count: int, passages: int = 4) -> Iterator[dict[str, object]]:
        for number in range(count):
            yield self.article(number, passages)

    def queries(self, count: int) -> list[str]:
        """Questions of 2-6 content words drawn from the same distribution."""
        out = []
        for _ in range(count):
            words = [
                self.rng.choices(self.words, cum_weights=self.cumulative, k=1)[0]
                for _ in range(self.rng.randint(2, 6))
            ]
            out.append("what about " + " ".join(words) + "?")
        return out

    def topics(self, count: int) -> list[str]:
        """Alert topics as people write them: 1-3 specific words (names, places, things),
        drawn from the middle of the vocabulary rather than its most common words."""
        middle = self.words[200:30_000]
        return [" ".join(self.rng.sample(middle, self.rng.randint(1, 3))) for _ in range(count)]
