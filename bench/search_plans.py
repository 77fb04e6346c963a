"""EXPLAIN ANALYZE of the exact SQL the service runs for a search, built by its own code.

The statements come from `maia_vectordb.db.search` (captured as they are sent), with the
same per-transaction HNSW settings, so the plan is the one the server gets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from harness import pg_connect
from search_data import Layout
from search_queries import K, top_k_sql
from search_runs import BASELINE_SETTINGS, FILTER
from search_sql import INDEX
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.config import SearchSettings, Settings
from maia_vectordb.db import search as queries
from maia_vectordb.db.engine import build_engine, build_sessionmaker
from maia_vectordb.db.filters import compile_filter
from maia_vectordb.db.models import DEFAULT_PROJECT_ID, FileChunk
from maia_vectordb.schemas.search import ComparisonFilter

VECTOR_LITERAL = re.compile(r"'\[[^\]]*\]'")


def plan_summary(plan: Sequence[str]) -> str:
    """How the top-k rows were found, in a few words, and the execution time."""
    text = "\n".join(plan)
    if INDEX in text:
        access = "HNSW index scan"
    elif "Bitmap Heap Scan" in text:
        access = "bitmap scan + sort (exact)"
    elif "Seq Scan" in text:
        access = "seq scan + sort (exact)"
    else:
        access = "other"
    timing = next((line.strip() for line in plan if "Execution Time" in line), "")
    return f"{access}; {timing}"


async def _explain_search(
    session: AsyncSession, captured: list[tuple[str, Any]], settings: SearchSettings, **search: Any
) -> list[str]:
    tuning = queries.IndexTuning(
        ef_search=settings.ef_search,
        max_scan_tuples=settings.max_scan_tuples,
        floor=K,
    )
    target = await queries.open_search(
        session,
        project_id=DEFAULT_PROJECT_ID,
        vector_store_id=search["vector_store_id"],
        tuning=tuning,
    )
    assert target is not None
    exact = target.exact
    captured.clear()
    leg = queries.vector_candidates(
        **search, limit=K, exact=exact, dimensions=target.model.dimensions
    )
    await queries.fetch_legs(session, [leg])
    statement, parameters = captured[-1]
    connection = await session.connection()
    result = await connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
    return _readable(str(row[0]) for row in result)


def _readable(lines: Iterable[str]) -> list[str]:
    """The bound query vector is thousands of characters; it says nothing about the plan."""
    return [VECTOR_LITERAL.sub("'[...]'", line) for line in lines]


async def service_plans(url: str, layout: Layout, vector: list[float]) -> dict[str, list[str]]:
    """Plans for `vector` and `filtered` searches with the server's default settings."""
    settings = Settings(_env_file=None, DATABASE_URL=url, EMBEDDING_DIMENSIONS=layout.dims)
    engine = build_engine(settings.database, url)
    captured: list[tuple[str, Any]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _capture(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    conditions = {
        "vector": compile_filter(FileChunk.attributes, None),
        "filtered": compile_filter(FileChunk.attributes, ComparisonFilter(**FILTER)),
    }
    plans: dict[str, list[str]] = {}
    try:
        for name, condition in conditions.items():
            async with build_sessionmaker(engine)() as session, session.begin():
                plans[name] = await _explain_search(
                    session,
                    captured,
                    settings.search,
                    vector_store_id=layout.target,
                    embedding=vector,
                    condition=condition,
                )
    finally:
        await engine.dispose()
    return plans


async def baseline_plans(
    connect: dict[str, str], layout: Layout, vector: list[float]
) -> dict[str, list[str]]:
    """Plans of the plain-SQL baseline, at pgvector's default settings."""
    conn = await pg_connect(connect)
    try:
        for name, value in BASELINE_SETTINGS.items():
            await conn.execute("SELECT set_config($1, $2, false)", name, value)
        plans = {}
        for name, filtered in (("sql-vector", False), ("sql-filtered", True)):
            top_k = top_k_sql(
                filtered=filtered, dims=layout.dims, store=layout.target, indexed=layout.indexed(0)
            )
            rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + top_k, vector)
            plans[name] = _readable(str(row[0]) for row in rows)
    finally:
        await conn.close()
    return plans
