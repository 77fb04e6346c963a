"""What the keyword indexer reads and does: stores with pending BM25 postings, the move
of a slice of them into the postings (migration 20261130_0015), and the delete of a
slice of a deleted store's postings (20261130_0017).

Every statement serves every project: the keyword index is the deployment's, as the
HNSW indexes are.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

# Due: nothing of the store waits in the queue (its load is done), or so many chunks
# wait that keyword searches would slow down (a store that never drains).
_DUE = text(
    """
    SELECT p.store_key, s.vector_store_id, count(*) AS pending
    FROM bm25_pending AS p JOIN bm25_stores AS s ON s.key = p.store_key
    GROUP BY p.store_key, s.vector_store_id
    HAVING count(*) >= :max_pending
        OR NOT EXISTS (SELECT 1 FROM ingest_jobs AS j WHERE j.vector_store_id = s.vector_store_id)
    ORDER BY count(*), p.store_key
    """
)
_POST = text("SELECT bm25_post_pending(:key, :max_chunks)")
_PURGE = text("SELECT bm25_purge_dropped(:max_rows)")
# Any constant all processes agree on: one posting at a time across the deployment.
POST_LOCK_KEY = 0x6D616961_0015


@dataclass(frozen=True)
class PendingStore:
    key: int
    vector_store_id: str
    pending: int


async def due_stores(conn: AsyncConnection, *, max_pending: int) -> list[PendingStore]:
    """Fewest pending first: a small attach is not held up behind a large load."""
    rows = await conn.execute(_DUE, {"max_pending": max_pending})
    return [PendingStore(r.store_key, r.vector_store_id, r.pending) for r in rows]


async def post_pending(conn: AsyncConnection, key: int, *, max_chunks: int) -> int:
    """Up to `max_chunks` of the store's pending chunks into the postings, in the caller's
    transaction; how many. Rows another indexer holds are skipped, not waited for."""
    moved = await conn.scalar(_POST, {"key": key, "max_chunks": max_chunks})
    return int(moved or 0)


async def purge_dropped(conn: AsyncConnection, *, max_rows: int) -> int | None:
    """Up to `max_rows` postings of one deleted store, in the caller's transaction; how
    many, or None when no deleted store has postings left."""
    purged = await conn.scalar(_PURGE, {"max_rows": max_rows})
    return None if purged is None else int(purged)


async def try_post_lock(conn: AsyncConnection) -> bool:
    """Session-level: held across the indexer's transactions, gone with the session."""
    held = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": POST_LOCK_KEY})
    return bool(held)


async def release_post_lock(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": POST_LOCK_KEY})


async def pending_total(session: AsyncSession) -> int:
    """Chunks waiting for their postings, every store's (a metric)."""
    return int(await session.scalar(text("SELECT count(*) FROM bm25_pending")) or 0)
