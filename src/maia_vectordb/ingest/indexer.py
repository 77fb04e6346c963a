"""The index builder: gives each large store its HNSW index once its load is done.

Runs as housekeeping in every serving process (`serve` and `worker`); a PostgreSQL
advisory lock lets one build at a time run across all of them, so an HNSW build's
memory (`VECTOR_INDEX_BUILD_MEMORY`) is spent once, not per process. A build that
dies (the process killed, the database restarted) leaves an invalid index, which the
next pass drops and builds again; an index whose store was deleted is dropped too.
Searches use a store's index only once it is valid (db/search.py), so none of this is
ever seen in results: until then the store is searched exactly.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from maia_vectordb.config import SearchSettings
from maia_vectordb.db import vector_indexes
from maia_vectordb.db.own_session import own_session
from maia_vectordb.db.queries import vector_indexes as queries

log = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 5.0


@dataclass(frozen=True)
class IndexBuilder:
    engine: AsyncEngine
    settings: SearchSettings

    async def run_once(self) -> list[str]:
        """One pass: drop what is stale, build what is due; the stores it indexed.
        Another process holding the build lock makes this a no-op."""
        # Cancelled (shutdown) or failed mid-build: the session, its lock and its build
        # end with the connection.
        async with own_session(self.engine) as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            if not await queries.try_build_lock(conn):
                return []
            built = await self._reconcile(conn)
            await queries.release_build_lock(conn)
            return built

    async def _reconcile(self, conn: AsyncConnection) -> list[str]:
        memory = self.settings.index_build_memory
        for name in await queries.stale_indexes(conn):
            await queries.run_ddl(conn, vector_indexes.drop_statement(name), memory=memory)
            log.info("index.dropped", extra={"index": name})
        built = []
        for store in await queries.due_stores(conn, min_chunks=self.settings.index_min_chunks):
            started = time.monotonic()
            statement = vector_indexes.create_statement(store.vector_store_id, store.dimensions)
            await queries.run_ddl(conn, statement, memory=memory)
            built.append(store.vector_store_id)
            seconds = round(time.monotonic() - started, 3)
            fields = {"vector_store_id": store.vector_store_id, "chunks": store.chunks}
            log.info("index.built", extra=fields | {"seconds": seconds})
        return built
