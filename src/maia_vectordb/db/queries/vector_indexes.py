"""What the index builder reads and does: stores due an index, indexes to drop, its lock.

Every statement runs on the builder's own autocommit connection (`CREATE INDEX
CONCURRENTLY` cannot run in a transaction), and serves every project: indexes are
the deployment's, not a tenant's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from maia_vectordb.db.vector_indexes import BUILD_LOCK_KEY, INDEX_PREFIX, INDEXABLE_ID

# A store is due when it is large enough, has no index of its own (valid or being
# built) and nothing of it waits in the queue: built after the load, in one pass.
_DUE = text(
    """
    SELECT s.id, s.embedding_dimensions, b.chunks
    FROM bm25_stores AS b JOIN vector_stores AS s ON s.id = b.vector_store_id
    WHERE b.chunks >= :min_chunks
      AND s.id ~ :indexable
      AND to_regclass(quote_ident(:prefix || s.id)) IS NULL
      AND NOT EXISTS (SELECT 1 FROM ingest_jobs AS j WHERE j.vector_store_id = s.id)
    ORDER BY b.chunks, s.id
    """
)
# Left invalid by a build that died (under the build lock, no build is running), or
# outliving its store.
_STALE = text(
    """
    SELECT c.relname
    FROM pg_index AS i
    JOIN pg_class AS c ON c.oid = i.indexrelid
    JOIN pg_class AS t ON t.oid = i.indrelid
    WHERE t.relname = 'file_chunks' AND t.relnamespace = to_regnamespace(current_schema())
      AND starts_with(c.relname, :prefix)
      AND (NOT i.indisvalid OR NOT EXISTS (
          SELECT 1 FROM vector_stores AS s WHERE s.id = substr(c.relname, length(:prefix) + 1)))
    ORDER BY c.relname
    """
)


@dataclass(frozen=True)
class DueStore:
    vector_store_id: str
    dimensions: int
    chunks: int


async def due_stores(conn: AsyncConnection, *, min_chunks: int) -> list[DueStore]:
    """Smallest first: the quick builds are not held up behind a long one."""
    params = {"min_chunks": min_chunks, "indexable": f"^{INDEXABLE_ID.pattern}$"}
    rows = await conn.execute(_DUE, params | {"prefix": INDEX_PREFIX})
    return [DueStore(r.id, r.embedding_dimensions, r.chunks) for r in rows]


async def stale_indexes(conn: AsyncConnection) -> list[str]:
    return list((await conn.execute(_STALE, {"prefix": INDEX_PREFIX})).scalars())


async def try_build_lock(conn: AsyncConnection) -> bool:
    """Session-level: held across the builder's autocommit statements, gone with the session."""
    held = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": BUILD_LOCK_KEY})
    return bool(held)


async def release_build_lock(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": BUILD_LOCK_KEY})


async def run_ddl(conn: AsyncConnection, statement: str, *, memory: str) -> None:
    """One build or drop, with the memory an HNSW build wants and no statement timeout."""
    await conn.execute(text("SELECT set_config('maintenance_work_mem', :m, false)"), {"m": memory})
    await conn.execute(text("SELECT set_config('statement_timeout', '0', false)"))
    await conn.execute(text(statement))
    # The connection goes back to the pool: its next user gets the server's settings.
    # (One whose statement failed or was cancelled is thrown away by the builder.)
    await conn.execute(text("RESET maintenance_work_mem"))
    await conn.execute(text("RESET statement_timeout"))
