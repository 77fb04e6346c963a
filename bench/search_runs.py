"""Timed search runs: through the live server over HTTP, and as plain SQL for comparison."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from cpu import CpuMeter
from search_client import SearchClient
from search_data import Layout
from search_queries import K, QuerySet, chunk_key, top_k_sql
from search_sql import FILTER_KEY, FILTER_VALUE

from maia_vectordb.config import SearchSettings
from maia_vectordb.db.search import IndexTuning, scaled_ef_search

FILTER = {"type": "eq", "key": FILTER_KEY, "value": FILTER_VALUE}
# Two of those values (2 % of a store), as an `or`: `bench/search_cpu.py --modes filtered-or`.
FILTER_OR = {"type": "or", "filters": [FILTER, {**FILTER, "value": FILTER_VALUE + 1}]}
# pgvector's defaults, stated so the baseline does not depend on the server's settings.
BASELINE_SETTINGS = {"hnsw.iterative_scan": "off", "hnsw.ef_search": "40"}


def service_settings(chunks: int) -> dict[str, str]:
    """What the server sets for a search of a store of `chunks` chunks at its default
    configuration (db/search.py `open_search`: the beam grows with the store)."""
    fields = SearchSettings.model_fields
    tuning = IndexTuning(
        ef_search=fields["ef_search"].default,
        max_scan_tuples=fields["max_scan_tuples"].default,
        floor=K,
    )
    return {
        "hnsw.iterative_scan": "relaxed_order",
        "hnsw.ef_search": str(scaled_ef_search(tuning, chunks)),
        "hnsw.max_scan_tuples": str(tuning.max_scan_tuples),
    }


SQL_VARIANTS = ("sql", "tuned")


@dataclass
class Run:
    """One scenario: per-search latencies, wall time, and the chunks each search returned."""

    scenario: str
    concurrency: int
    latencies_ms: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    errors: int = 0
    found: dict[int, list[str]] = field(default_factory=dict)
    cpu_seconds: tuple[float, float, float] | None = None
    """(API server, PostgreSQL, the bench's own process) CPU over the run, when measured."""
    load: float = 0.0
    """The 1-minute load average when the run ended."""

    def cpu_ms_per_search(self) -> tuple[float, float, float] | None:
        if self.cpu_seconds is None or not self.latencies_ms:
            return None
        count = len(self.latencies_ms)
        server, postgres, client = (seconds * 1000 / count for seconds in self.cpu_seconds)
        return server, postgres, client

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def mean_results(self) -> float:
        return sum(map(len, self.found.values())) / len(self.found) if self.found else 0.0


def request_body(mode: str, text: str) -> dict[str, Any]:
    """`vector`, `filtered`(`-or`) and `small` ask for pure vector search (ranker none), `keyword`
    for BM25 alone (`search_mode`); `hybrid` and `hybrid-filtered` are the default."""
    body: dict[str, Any] = {"query": text, "max_num_results": K}
    if mode == "keyword":
        body["search_mode"] = "keyword"
    elif not mode.startswith("hybrid"):
        body["ranking_options"] = {"ranker": "none"}
    if mode.endswith("filtered"):
        body["filters"] = FILTER
    elif mode.endswith("filtered-or"):
        body["filters"] = FILTER_OR
    return body


class ApiBench:
    def __init__(
        self, client: SearchClient, layout: Layout, queries: QuerySet, meter: CpuMeter
    ) -> None:
        self.meter = meter
        self.client = client
        self.paths = {
            store: f"/v1/vector_stores/{store}/search" for store in (layout.target, layout.small)
        }
        self.target, self.small = layout.target, layout.small
        self.queries = queries

    async def run(self, mode: str, numbers: Iterable[int], concurrency: int) -> Run:
        """Each of `concurrency` clients sends its next search as soon as the last one returns."""
        run = Run(mode, concurrency)
        pending = iter(numbers)
        cpu = self.meter.read()
        own, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(self._client(mode, pending, run) for _ in range(concurrency)))
        run.wall_seconds = time.perf_counter() - started
        own = time.process_time() - own  # before the meter's own scan of /proc
        after = self.meter.read()
        run.cpu_seconds = (after[0] - cpu[0], after[1] - cpu[1], own)
        run.load = os.getloadavg()[0]
        return run

    async def _client(self, mode: str, pending: Iterator[int], run: Run) -> None:
        async with self.client.connection() as post:
            for number in pending:
                body = request_body(mode, self.queries.texts[number])
                path = self.paths[self.small if mode == "small" else self.target]
                started = time.perf_counter()
                answer = await post(path, body)
                elapsed = (time.perf_counter() - started) * 1000
                if answer is None:
                    run.errors += 1
                    continue
                run.latencies_ms.append(elapsed)
                hits = json.loads(answer)["data"]
                run.found[number] = [chunk_key(r["content"][0]["text"]) for r in hits]


async def sql_run(
    conn: asyncpg.Connection,
    layout: Layout,
    queries: QuerySet,
    numbers: Iterable[int],
    *,
    variant: str,
    filtered: bool,
) -> Run:
    """The same search as one plain SQL statement with `variant`'s settings, one at a time."""
    settings = BASELINE_SETTINGS if variant == "sql" else service_settings(layout.target_chunks)
    for name, value in settings.items():
        await conn.execute("SELECT set_config($1, $2, false)", name, value)
    store, indexed = layout.target, layout.indexed(0)
    sql = await conn.prepare(
        top_k_sql(filtered=filtered, dims=layout.dims, store=store, indexed=indexed)
    )
    run = Run(f"{variant}-{'filtered' if filtered else 'vector'}", 1)
    started = time.perf_counter()
    for number in numbers:
        vector = queries.vector(number)
        begun = time.perf_counter()
        rows = await sql.fetch(vector)
        run.latencies_ms.append((time.perf_counter() - begun) * 1000)
        run.found[number] = [chunk_key(row["text"]) for row in rows]
    run.wall_seconds = time.perf_counter() - started
    run.load = os.getloadavg()[0]
    return run
