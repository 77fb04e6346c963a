"""Query sets for the search benchmark: distinct texts, each with a known random unit vector.

Every timed search uses a text the server has never seen, so its query-embedding cache
never answers and each search pays the embedding round trip (to the fake server). The
vectors are drawn here and handed to the fake server, so recall can be computed exactly.
"""

from __future__ import annotations

import array
import math
import random
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from search_sql import FILTER_KEY, FILTER_VALUE, LATENT_NOISE

from maia_vectordb.db.vector_indexes import store_predicate

K = 10
EXACT_SCAN = ("SET LOCAL enable_indexscan = off", "SET LOCAL enable_indexonlyscan = off")


Basis = list[list[float]]


def _latent(rng: random.Random, basis: Basis) -> list[float]:
    values = [0.0] * len(basis[0])
    for row in basis:
        weight = rng.gauss(0.0, 1.0)
        values = [v + weight * b for v, b in zip(values, row, strict=True)]
    return [v + rng.gauss(0.0, LATENT_NOISE) for v in values]


@dataclass
class QuerySet:
    """Texts and float32 vectors; `take(n)` hands out unused query numbers in order."""

    texts: list[str]
    vectors: array.array[float]
    dims: int
    used: int = 0

    @classmethod
    def generate(
        cls, count: int, dims: int, words: list[str], seed: int, basis: Basis | None
    ) -> QuerySet:
        """Vectors drawn like the data: uniform on the sphere, or through the latent basis."""
        rng = random.Random(seed)
        texts: dict[str, None] = {}
        while len(texts) < count:
            texts[" ".join(rng.sample(words, 2))] = None
        vectors = array.array("f")
        for _ in range(count):
            values = _latent(rng, basis) if basis else [rng.gauss(0.0, 1.0) for _ in range(dims)]
            norm = math.sqrt(math.fsum(v * v for v in values))
            vectors.extend(v / norm for v in values)
        return cls(list(texts), vectors, dims)

    def take(self, count: int) -> range:
        if self.used + count > len(self.texts):
            raise RuntimeError("the query set is too small for this run")
        taken = range(self.used, self.used + count)
        self.used += count
        return taken

    def vector(self, number: int) -> list[float]:
        return self.vectors[number * self.dims : (number + 1) * self.dims].tolist()

    def write(self, directory: Path) -> tuple[Path, Path]:
        """The files `fake_openai.py --queries --texts` reads."""
        vectors, texts = directory / "queries.f32", directory / "queries.txt"
        vectors.write_bytes(self.vectors.tobytes())
        texts.write_text("\n".join(self.texts) + "\n", encoding="utf-8")
        return vectors, texts


def chunk_key(text: str) -> str:
    """`chunk 0-123 words...` → `0-123`, the chunk's identity in any response."""
    return text.split(" ", 2)[1]


def top_k_sql(*, filtered: bool, dims: int, store: str, indexed: bool) -> str:
    """The plain query the API is compared with: nearest K in one store, optionally
    filtered; `$1` is the query vector. `indexed` words the store clause as the store's
    own HNSW index's predicate (db/vector_indexes.py), so that index can serve it;
    otherwise the store's btree finds its rows."""
    where = store_predicate(store) if indexed else f"vector_store_id = '{store}'"
    shard = f" AND attributes -> '{FILTER_KEY}' = '{FILTER_VALUE}'::jsonb" if filtered else ""
    return (
        f"SELECT text FROM file_chunks WHERE {where} AND embedding_dim = {dims}"
        f"{shard} ORDER BY embedding::halfvec({dims}) <=> $1::halfvec({dims}) LIMIT {K}"
    )


async def exact_top_k(
    conn: asyncpg.Connection, store: str, vector: list[float], *, filtered: bool
) -> list[str]:
    """Ground truth: the HNSW index is disabled, so PostgreSQL sorts every candidate row."""
    async with conn.transaction():
        for statement in EXACT_SCAN:
            await conn.execute(statement)
        sql = top_k_sql(filtered=filtered, dims=len(vector), store=store, indexed=False)
        rows = await conn.fetch(sql, vector)
    return [chunk_key(row["text"]) for row in rows]


def recall(found: list[str], truth: list[str]) -> float:
    return len(set(found) & set(truth)) / len(truth) if truth else 1.0
