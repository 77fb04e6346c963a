"""The ingestion benchmark's corpora: deterministic English-ish text, or SciFact abstracts.

The synthetic corpus: Zipf-distributed words, sentences, paragraphs.

Common English function words take the top ranks (as in real text, where they are
about half of all words) and pronounceable pseudo-words the long tail. Half the files
are Markdown with headings and lists, half plain text; sizes vary around the mean.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate, islice
from pathlib import Path

from harness import pseudo_words

COMMON_WORDS = """
the of and to a in is it that for was on are as with his they at be this from have or by
one had not but what all were when we there can an your which their said if do will each
about how up out them then she many some so these would other into has more her two like
him see time could no make than first been its who now people my made over did down only
way find use may water long little very after words called just where most know
"""
SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir" / "scifact"
TAIL_WORDS = 20_000
SIZE_SPREAD = 0.6
MARKDOWN_EVERY = 2


@dataclass(frozen=True)
class Document:
    name: str
    data: bytes

    @property
    def mime(self) -> str:
        return "text/markdown" if self.name.endswith(".md") else "text/plain"


class Writer:
    """Draws words by rank with weight 1/rank, so a few are everywhere and most are rare."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = COMMON_WORDS.split() + pseudo_words(TAIL_WORDS, rng)
        self.cumulative = list(accumulate(1.0 / rank for rank in range(1, len(self.words) + 1)))

    def sentence(self) -> str:
        words = self.rng.choices(self.words, cum_weights=self.cumulative, k=self.rng.randint(5, 24))
        if len(words) > 10 and self.rng.random() < 0.4:
            words[len(words) // 2] += ","
        return " ".join(words).capitalize() + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 7)))

    def heading(self, level: int) -> str:
        return "#" * level + " " + " ".join(self.rng.sample(self.words[100:2000], 3)).title()

    def bullets(self) -> str:
        return "\n".join(f"- {self.sentence()}" for _ in range(self.rng.randint(3, 6)))

    def blocks(self, markdown: bool) -> Iterator[str]:
        if markdown:
            yield self.heading(1)
        while True:
            roll = self.rng.random()
            if markdown and roll < 0.1:
                yield self.heading(2)
            elif markdown and roll < 0.18:
                yield self.bullets()
            else:
                yield self.paragraph()

    def document(self, size: int, markdown: bool) -> bytes:
        parts, written = [], 0
        for block in self.blocks(markdown):
            parts.append(block)
            written += len(block) + 2
            if written >= size:
                return "\n\n".join(parts).encode() + b"\n"
        raise AssertionError("unreachable")


def _sizes(rng: random.Random, total: int, files: int) -> list[int]:
    raw = [rng.lognormvariate(0.0, SIZE_SPREAD) for _ in range(files)]
    scale = total / sum(raw)
    # +2: a document may end one byte short of its size, and MiB must not round down.
    return [int(value * scale) + 2 for value in raw]


def corpus(megabytes: float, files: int, seed: int) -> list[Document]:
    """At least `megabytes` MiB over `files` files, identical for identical arguments."""
    rng = random.Random(seed)
    writer = Writer(rng)
    documents = []
    for number, size in enumerate(_sizes(rng, int(megabytes * 2**20), files)):
        markdown = number % MARKDOWN_EVERY == 1
        name = f"doc-{number:05d}.{'md' if markdown else 'txt'}"
        documents.append(Document(name, writer.document(size, markdown)))
    return documents


def scifact(files: int, root: Path = SCIFACT) -> list[Document]:
    """The first `files` SciFact abstracts (title, blank line, text), one .txt each: ~1.5 KB,
    one chunk apiece but for a few dozen long ones; the corpus has 5,183."""
    with (root / "corpus.jsonl").open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in islice(lines, files)]
    return [
        Document(f"scifact-{r['_id']}.txt", f"{r['title']}\n\n{r['text']}\n".encode())
        for r in records
    ]
