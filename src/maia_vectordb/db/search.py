"""The hand-written retrieval queries: HNSW (iterative), exact, and full-text.

Every query is confined to one store (and the caller's attribute filter).
pgvector's iterative index scan keeps an HNSW search going until enough rows
pass those filters, so a small store inside a large table is not starved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pgvector.sqlalchemy import HALFVEC
from sqlalchemy import ColumnElement, bindparam, cast, func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from maia_vectordb.db.models import FileChunk

TEXT_SEARCH_CONFIG = "english"


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    file_id: str
    text: str
    attributes: dict[str, Any] | None
    score: float


@dataclass(frozen=True)
class IndexTuning:
    ef_search: int
    max_scan_tuples: int


async def tune_index_scan(session: AsyncSession, tuning: IndexTuning, k: int) -> None:
    """Per-transaction HNSW settings: iterative scans, and a beam no narrower than k."""
    await session.execute(
        text(
            "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), "
            "set_config('hnsw.ef_search', :ef, true), "
            "set_config('hnsw.max_scan_tuples', :tuples, true)"
        ),
        {"ef": str(max(tuning.ef_search, k)), "tuples": str(tuning.max_scan_tuples)},
    )


async def store_is_small(session: AsyncSession, vector_store_id: str, threshold: int) -> bool:
    """Counts at most `threshold + 1` index entries, so the check is cheap for any store."""
    bounded = (
        select(literal(1))
        .where(FileChunk.vector_store_id == vector_store_id)
        .limit(threshold + 1)
        .subquery()
    )
    count = await session.scalar(select(func.count()).select_from(bounded))
    return (count or 0) <= threshold


async def vector_hits(
    session: AsyncSession,
    *,
    vector_store_id: str,
    embedding: list[float],
    condition: ColumnElement[bool],
    limit: int,
    exact: bool,
) -> list[Hit]:
    """Nearest chunks by cosine distance; score = 1 - distance, floored at 0."""
    query_vec = cast(bindparam("query_vec", embedding, type_=NullType()), HALFVEC)
    distance = FileChunk.embedding.op("<=>", return_type=NullType())(query_vec)
    # `+ 0` hides the ordering from the planner, forcing the exact scan.
    ordering = distance + literal(0) if exact else distance
    candidates = (
        select(
            FileChunk.id,
            FileChunk.file_id,
            FileChunk.text,
            FileChunk.attributes,
            distance.label("distance"),
        )
        .where(FileChunk.vector_store_id == vector_store_id, condition)
        .order_by(ordering)
        .limit(limit)
        .cte("candidates")
        .prefix_with("MATERIALIZED")
    )
    rows = await session.execute(select(candidates).order_by(candidates.c.distance))
    return [
        Hit(row.id, row.file_id, row.text, row.attributes, max(0.0, 1.0 - float(row.distance)))
        for row in rows
    ]


async def keyword_hits(
    session: AsyncSession,
    *,
    vector_store_id: str,
    query: str,
    condition: ColumnElement[bool],
    limit: int,
) -> list[Hit]:
    """Full-text matches ranked by cover density, scaled to 0..1 as rank / (rank + 1)."""
    tsquery = func.websearch_to_tsquery(TEXT_SEARCH_CONFIG, query)
    rank = func.ts_rank_cd(FileChunk.tsv, tsquery, 32).label("rank")
    statement = (
        select(FileChunk.id, FileChunk.file_id, FileChunk.text, FileChunk.attributes, rank)
        .where(
            FileChunk.vector_store_id == vector_store_id,
            FileChunk.tsv.op("@@")(tsquery),
            condition,
        )
        .order_by(rank.desc(), FileChunk.id)
        .limit(limit)
    )
    rows = await session.execute(statement)
    return [Hit(r.id, r.file_id, r.text, r.attributes, float(r.rank)) for r in rows]
