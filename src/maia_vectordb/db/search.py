"""The hand-written vector retrieval queries: HNSW (iterative) and exact (BM25: `db.bm25`).

Every query is confined to one store (and the caller's attribute filter). The
plan is chosen here, not left to the planner: a store of at most
`exact_threshold` chunks is scanned exactly through the store's btree; anything
larger goes through the HNSW index, whose iterative scan keeps going until
enough rows pass the filters, so a small store inside a large table is not
starved. (A filter so selective that the scan gives up early is retried exactly
by the caller.) (Left alone, the planner prices a wide `ef_search` beam above a
sequential scan of the whole table and picks the slower plan.)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import HALFVEC
from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from maia_vectordb.db.models import File, FileChunk, VectorStore
from maia_vectordb.embeddings.spec import ModelSpec

TEXT_SEARCH_CONFIG = "english"


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    file_id: str
    filename: str
    text: str
    attributes: dict[str, Any] | None
    score: float


@dataclass(frozen=True)
class IndexTuning:
    ef_search: int
    max_scan_tuples: int
    exact_threshold: int


@dataclass(frozen=True)
class SearchTarget:
    """The store as search needs it, and the plan chosen for it."""

    exact: bool
    last_active_at: datetime
    expires_at: datetime | None
    model: ModelSpec
    """The store's embedding model: queries are embedded with it, searched at its width."""


async def open_search(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    vector_store_id: str,
    tuning: IndexTuning,
) -> SearchTarget | None:
    """One round trip: the tenant's store, whether it is small enough to scan exactly
    (counting at most threshold + 1 rows), and the transaction's HNSW settings."""
    sample = (
        select(literal(1))
        .where(FileChunk.vector_store_id == vector_store_id)
        .limit(tuning.exact_threshold + 1)
        .subquery()
    )
    size = select((func.count() <= tuning.exact_threshold).label("small")).select_from(sample)
    size_cte = size.cte("size")
    small = size_cte.c.small
    statement = (
        select(
            VectorStore.last_active_at,
            VectorStore.expires_at,
            VectorStore.embedding_provider,
            VectorStore.embedding_model,
            VectorStore.embedding_dimensions,
            small,
            func.set_config("hnsw.iterative_scan", "relaxed_order", True),
            func.set_config("hnsw.ef_search", str(tuning.ef_search), True),
            func.set_config("hnsw.max_scan_tuples", str(tuning.max_scan_tuples), True),
            func.set_config("enable_seqscan", case((small, "on"), else_="off"), True),
        )
        .select_from(VectorStore)
        .join(size_cte, true())
    )
    statement = statement.where(
        VectorStore.id == vector_store_id, VectorStore.project_id == project_id
    )
    row = (await session.execute(statement)).first()
    if row is None:
        return None
    model = ModelSpec(row.embedding_provider, row.embedding_model, row.embedding_dimensions)
    return SearchTarget(
        exact=bool(row.small), last_active_at=row[0], expires_at=row[1], model=model
    )


HIT_COLUMNS = (FileChunk.id, FileChunk.file_id, FileChunk.text, FileChunk.attributes)


def with_filenames(candidates: Select[Any], order: str, descending: bool) -> Select[Any]:
    """File names join the (already limited) candidates, not the scan."""
    cte = candidates.cte("candidates").prefix_with("MATERIALIZED")
    key = cte.c[order].desc() if descending else cte.c[order]
    return select(cte, File.filename).join(File, File.id == cte.c.file_id).order_by(key, cte.c.id)


def cosine_distance(embedding: list[float], dimensions: int) -> ColumnElement[Any]:
    """Both sides cast to `halfvec(dimensions)`, the expression of that width's partial
    HNSW index (db/vector_indexes.py), so the planner can use it."""
    width = HALFVEC(dimensions)
    query_vec = cast(bindparam("query_vec", embedding, type_=NullType()), width)
    return cast(FileChunk.embedding, width).op("<=>", return_type=NullType())(query_vec)


async def vector_hits(
    session: AsyncSession,
    *,
    vector_store_id: str,
    embedding: list[float],
    condition: ColumnElement[bool],
    limit: int,
    exact: bool,
    dimensions: int,
) -> list[Hit]:
    """Nearest chunks by cosine distance; score = 1 - distance, floored at 0."""
    distance = cosine_distance(embedding, dimensions)
    if exact:
        # `+ 0` hides the ordering from the HNSW index: scan the store's rows via its btree.
        in_store, ordering = FileChunk.vector_store_id == vector_store_id, distance + literal(0)
    else:
        # `|| ''` hides the store from its btree: the width's HNSW index is the only plan left.
        in_store, ordering = (FileChunk.vector_store_id + "") == vector_store_id, distance
    # A literal, not a parameter: a generic plan could not prove the partial index's predicate.
    in_store = in_store & (FileChunk.embedding_dim == literal_column(str(int(dimensions))))
    candidates = (
        select(*HIT_COLUMNS, distance.label("distance"))
        .where(in_store, condition)
        .order_by(ordering)
        .limit(limit)
    )
    rows = await session.execute(with_filenames(candidates, "distance", descending=False))
    return [
        Hit(r.id, r.file_id, r.filename, r.text, r.attributes, max(0.0, 1.0 - float(r.distance)))
        for r in rows
    ]
