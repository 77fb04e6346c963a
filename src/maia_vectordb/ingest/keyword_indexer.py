"""The keyword indexer: writes each store's pending BM25 postings once its load is done.

A chunk's ~240 postings cost PostgreSQL about as much as everything else an ingest
spends on it, so the COPY that stores a chunk only marks it pending (migration
20261130_0015) and this writes the postings after the load, as the index builder
builds HNSW indexes after it. Keyword search scores pending chunks exactly from their
tsvectors meanwhile (db/bm25.py), only slower, so nothing here is visible in results.

Runs as housekeeping in every serving process (`serve` and `worker`). Each slice is one
transaction that claims its pending rows `SKIP LOCKED`, so several processes post
disjoint slices, and a process killed mid-slice leaves its slice pending for the next.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.config import SearchSettings
from maia_vectordb.db.queries import keyword_index as queries

log = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 2.0
# ~500k postings a transaction: short enough to keep locks and WAL per commit small,
# long enough that a slice's fixed cost does not show.
SLICE_CHUNKS = 2_000


@dataclass(frozen=True)
class KeywordIndexer:
    engine: AsyncEngine
    settings: SearchSettings

    async def run_once(self) -> int:
        """One pass over the due stores, each posted to the end; the chunks posted."""
        async with self.engine.connect() as conn:
            due = await queries.due_stores(conn, max_pending=self.settings.keyword_max_pending)
        posted = 0
        for store in due:
            started, moved = time.monotonic(), 0
            while True:
                async with self.engine.begin() as conn:
                    n = await queries.post_pending(conn, store.key, max_chunks=SLICE_CHUNKS)
                moved += n
                if n < SLICE_CHUNKS:
                    break
            posted += moved
            seconds = round(time.monotonic() - started, 3)
            fields = {"vector_store_id": store.vector_store_id, "chunks": moved}
            log.info("keyword_index.posted", extra=fields | {"seconds": seconds})
        return posted
