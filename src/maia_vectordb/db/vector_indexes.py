"""One HNSW index per embedding width, so stores of different models share `file_chunks`.

The column is an unconstrained `halfvec`; each index covers the rows of one width
(`WHERE embedding_dim = d`) through the expression `embedding::halfvec(d)`, and
vector search casts both sides identically so the planner picks that index. Which
widths exist is configuration (the models a server offers), so these indexes are
made here, at migration and at start, not declared in models.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

INDEX_PREFIX = "ix_file_chunks_embedding_hnsw_"
# pgvector's HNSW indexes halfvec up to 4000 dimensions.
MAX_INDEXED_DIMENSIONS = 4000
# Any constant both sides agree on: serialises index creation across starting processes.
LOCK_KEY = 0x6D616961_0005


def index_name(dimensions: int) -> str:
    return f"{INDEX_PREFIX}{dimensions}"


def create_statement(dimensions: int) -> str:
    """DDL cannot take bind parameters; the width is checked to be a plain int first."""
    if not isinstance(dimensions, int) or not 1 <= dimensions <= MAX_INDEXED_DIMENSIONS:
        raise ValueError(f"cannot index {dimensions!r}-dimensional embeddings")
    return (
        f"CREATE INDEX IF NOT EXISTS {index_name(dimensions)} ON file_chunks "
        f"USING hnsw ((embedding::halfvec({dimensions})) halfvec_cosine_ops) "
        f"WITH (m = 16, ef_construction = 64) WHERE embedding_dim = {dimensions}"
    )


def create_indexes(connection: Connection, dimensions: Iterable[int]) -> None:
    """In the caller's transaction, under a lock so concurrent starts do not collide."""
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    for width in sorted(set(dimensions)):
        connection.execute(text(create_statement(width)))


async def ensure_indexes(engine: AsyncEngine, dimensions: Iterable[int]) -> None:
    """Cheap when they exist; a new width indexes only the (usually zero) rows it has."""
    async with engine.begin() as conn:
        await conn.run_sync(create_indexes, list(dimensions))


def is_width_index(name: str | None) -> bool:
    return name is not None and name.startswith(INDEX_PREFIX)
