"""The keyword indexer: writes each store's pending BM25 postings once its load is done.

A chunk's ~240 postings cost PostgreSQL about as much as everything else an ingest
spends on it, so the COPY that stores a chunk only marks it pending (migration
20261130_0015) and this writes the postings after the load, as the index builder
builds HNSW indexes after it. Keyword search scores pending chunks exactly from their
tsvectors meanwhile (db/bm25.py), only slower, so nothing here is visible in results.

Runs as housekeeping in every serving process (`serve` and `worker`); a PostgreSQL
advisory lock lets one of them post at a time across the deployment, so a drained load
takes one core, not one per process. Each slice is one transaction: a process killed
mid-slice leaves the slice pending for the next pass. A store is posted as far as it
was pending when the pass began, so a store still loading (posted early because
`KEYWORD_INDEX_MAX_PENDING` chunks wait) does not hold the pass, and one store that
fails is logged and skipped, not a stop for the stores after it.

It also deletes the postings of deleted stores (migration 20261130_0017): a store's
DELETE leaves them, by key, rather than looking up each of its chunks' ~240 terms.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from maia_vectordb.config import SearchSettings
from maia_vectordb.db.own_session import own_session
from maia_vectordb.db.queries import keyword_index as queries
from maia_vectordb.observability.errors import describe_error

log = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 2.0
# ~500k postings a transaction: short enough to keep locks and WAL per commit small,
# long enough that a slice's fixed cost does not show.
SLICE_CHUNKS = 2_000
# Deleted stores' postings a transaction: about a slice's worth of postings.
PURGE_ROWS = 500_000


@dataclass(frozen=True)
class KeywordIndexer:
    engine: AsyncEngine
    settings: SearchSettings

    async def run_once(self) -> int:
        """One pass over the due stores, then over deleted stores' postings; the chunks
        posted plus the postings purged. Another process holding the posting lock makes
        this a no-op."""
        # Cancelled (shutdown) or the database gone: the lock ends with the session.
        async with own_session(self.engine) as conn:
            if not await queries.try_post_lock(conn):
                await conn.rollback()
                return 0
            max_pending = self.settings.keyword_max_pending
            due = await queries.due_stores(conn, max_pending=max_pending)
            await conn.commit()
            posted = 0
            for store in due:
                posted += await self._post(conn, store)
            purged = await self._purge(conn)
            await queries.release_post_lock(conn)
            await conn.commit()
            return posted + purged

    async def _purge(self, conn: AsyncConnection) -> int:
        """Every deleted store's postings, a slice a transaction; a failure is logged and
        left for the next pass."""
        started, purged = time.monotonic(), 0
        try:
            while (n := await queries.purge_dropped(conn, max_rows=PURGE_ROWS)) is not None:
                await conn.commit()
                purged += n
            await conn.commit()
        except Exception as exc:
            await conn.rollback()
            log.error("keyword_index.purge_failed", extra=describe_error(exc))
        if purged:
            seconds = round(time.monotonic() - started, 3)
            log.info("keyword_index.purged", extra={"postings": purged, "seconds": seconds})
        return purged

    async def _post(self, conn: AsyncConnection, store: queries.PendingStore) -> int:
        """The store's pending chunks, slice by slice, up to what was pending when the
        pass began; a failure is logged and the pass goes on to the next store."""
        started, moved = time.monotonic(), 0
        try:
            while moved < store.pending:
                size = min(SLICE_CHUNKS, store.pending - moved)
                n = await queries.post_pending(conn, store.key, max_chunks=size)
                await conn.commit()
                moved += n
                if n < size:
                    break
        except Exception as exc:
            await conn.rollback()
            fields = {"vector_store_id": store.vector_store_id, **describe_error(exc)}
            log.error("keyword_index.failed", extra=fields)
        if moved:
            seconds = round(time.monotonic() - started, 3)
            fields = {"vector_store_id": store.vector_store_id, "chunks": moved}
            log.info("keyword_index.posted", extra=fields | {"seconds": seconds})
        return moved
