"""Prometheus metrics, one registry per app.

Never prometheus-client's global REGISTRY: two apps in one process (every test
builds its own) would share counts, and re-registering a name there raises.
Each group owns its metric objects and the one method callers record through,
so label values are chosen here and cannot drift into high cardinality.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from sqlalchemy import event
from sqlalchemy.pool import Pool, QueuePool

from maia_vectordb import __version__
from maia_vectordb.observability import multiprocess

EmbeddingOutcome = Literal["ok", "transient_error", "permanent_error"]

UNMATCHED_ROUTE = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
EMBEDDING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
RESULT_BUCKETS = (0, 1, 2, 5, 10, 20, 50)


@dataclass(frozen=True)
class HttpMetrics:
    requests: Counter
    duration: Histogram

    @classmethod
    def build(cls, registry: CollectorRegistry) -> HttpMetrics:
        return cls(
            requests=Counter(
                "maia_http_requests_total",
                "HTTP requests answered, by route template and status.",
                ["method", "route", "status"],
                registry=registry,
            ),
            duration=Histogram(
                "maia_http_request_duration_seconds",
                "Time from request start to the last byte of the response.",
                ["method", "route"],
                buckets=HTTP_BUCKETS,
                registry=registry,
            ),
        )

    def record(self, *, method: str, route: str, status: int, seconds: float) -> None:
        """Clients choose methods freely, so unknown ones share one label value."""
        method = method if method in KNOWN_METHODS else "OTHER"
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route).observe(seconds)


@dataclass(frozen=True)
class IngestMetrics:
    queue_depth: Gauge
    keyword_pending: Gauge
    job_duration: Histogram
    chunks: Counter

    @classmethod
    def build(cls, registry: CollectorRegistry) -> IngestMetrics:
        return cls(
            queue_depth=Gauge(
                "maia_ingest_queue_depth",
                "Jobs in ingest_jobs (queued, leased or waiting to retry), read at scrape time.",
                multiprocess_mode="livemostrecent",
                registry=registry,
            ),
            keyword_pending=Gauge(
                "maia_keyword_pending_chunks",
                "Chunks waiting for their BM25 postings (bm25_pending), read at scrape time.",
                multiprocess_mode="livemostrecent",
                registry=registry,
            ),
            job_duration=Histogram(
                "maia_ingest_job_duration_seconds",
                "Time a worker spent on one job, by outcome.",
                ["outcome"],
                buckets=JOB_BUCKETS,
                registry=registry,
            ),
            chunks=Counter(
                "maia_ingest_chunks_total",
                "Chunks written by completed ingestion jobs.",
                registry=registry,
            ),
        )

    def record_job(self, *, outcome: str, seconds: float, chunks: int) -> None:
        self.job_duration.labels(outcome).observe(seconds)
        self.chunks.inc(chunks)


@dataclass(frozen=True)
class EmbeddingMetrics:
    requests: Counter
    duration: Histogram
    inputs: Counter
    tokens: Counter

    @classmethod
    def build(cls, registry: CollectorRegistry) -> EmbeddingMetrics:
        return cls(
            requests=Counter(
                "maia_embedding_requests_total",
                "Embedding provider calls (one per batch), by outcome.",
                ["outcome"],
                registry=registry,
            ),
            duration=Histogram(
                "maia_embedding_request_duration_seconds",
                "Time per embedding call, the provider client's own retries included.",
                buckets=EMBEDDING_BUCKETS,
                registry=registry,
            ),
            inputs=Counter(
                "maia_embedding_inputs_total", "Texts embedded successfully.", registry=registry
            ),
            tokens=Counter(
                "maia_embedding_tokens_total",
                "cl100k tokens sent in successful provider calls (0 for the local embedder).",
                registry=registry,
            ),
        )

    def record(
        self, *, outcome: EmbeddingOutcome, seconds: float, inputs: int = 0, tokens: int = 0
    ) -> None:
        """Inputs and tokens count only successful calls: failed ones produced nothing."""
        self.requests.labels(outcome).inc()
        self.duration.observe(seconds)
        if outcome == "ok":
            self.inputs.inc(inputs)
            self.tokens.inc(tokens)


@dataclass(frozen=True)
class SearchMetrics:
    duration: Histogram
    results: Histogram

    @classmethod
    def build(cls, registry: CollectorRegistry) -> SearchMetrics:
        return cls(
            duration=Histogram(
                "maia_search_duration_seconds",
                "Time per successful search, embedding the query included, by mode.",
                ["mode"],
                buckets=HTTP_BUCKETS,
                registry=registry,
            ),
            results=Histogram(
                "maia_search_results",
                "Results returned per search, by mode (0 is worth alerting on).",
                ["mode"],
                buckets=RESULT_BUCKETS,
                registry=registry,
            ),
        )

    def record(self, *, mode: str, seconds: float, results: int) -> None:
        self.duration.labels(mode).observe(seconds)
        self.results.labels(mode).observe(results)


@dataclass(frozen=True)
class PoolMetrics:
    checked_out: Gauge
    size: Gauge
    overflow: Gauge

    @classmethod
    def build(cls, registry: CollectorRegistry) -> PoolMetrics:
        return cls(
            checked_out=Gauge(
                "maia_db_pool_checked_out",
                "Connections in use right now (summed over `serve --workers` processes).",
                multiprocess_mode="livesum",
                registry=registry,
            ),
            size=Gauge(
                "maia_db_pool_size",
                "Configured pool size (DB_POOL_SIZE), summed over processes.",
                multiprocess_mode="livesum",
                registry=registry,
            ),
            overflow=Gauge(
                "maia_db_pool_overflow",
                "Connections beyond the pool size (negative: pool not yet full).",
                multiprocess_mode="livesum",
                registry=registry,
            ),
        )

    def watch(self, pool: Pool) -> None:
        """Read at scrape time, so the figures are current without any polling task.
        Other processes cannot be asked at scrape time, so with several they write
        their figures whenever a connection is taken or given back."""
        if not isinstance(pool, QueuePool):
            return
        if not multiprocess.active():
            self.checked_out.set_function(pool.checkedout)
            self.size.set_function(pool.size)
            self.overflow.set_function(pool.overflow)
            return
        self._copy(pool, returning=0)
        event.listen(pool, "checkout", lambda *_: self._copy(pool, returning=0))
        # `checkin` fires before the connection is back in the pool: count it as returned.
        event.listen(pool, "checkin", lambda *_: self._copy(pool, returning=1))

    def _copy(self, pool: QueuePool, *, returning: int) -> None:
        self.checked_out.set(pool.checkedout() - returning)
        self.size.set(pool.size())
        self.overflow.set(pool.overflow())


def build_info(registry: CollectorRegistry) -> Gauge:
    """`maia_build_info{version, python} 1`: which release each scraped process runs."""
    info = Gauge(
        "maia_build_info",
        "Always 1; the labels name the running release and Python.",
        ["version", "python"],
        multiprocess_mode="max",
        registry=registry,
    )
    info.labels(__version__, platform.python_version()).set(1)
    return info


@dataclass(frozen=True)
class Metrics:
    """Everything `/metrics` exposes; built with the app and held on `AppState`."""

    registry: CollectorRegistry
    http: HttpMetrics
    ingest: IngestMetrics
    embeddings: EmbeddingMetrics
    search: SearchMetrics
    pool: PoolMetrics

    @classmethod
    def build(cls) -> Metrics:
        """Process series (CPU, memory, open files, start time) come with a single
        process; prometheus-client cannot combine them across `serve --workers`."""
        registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        build_info(registry)
        return cls(
            registry=registry,
            http=HttpMetrics.build(registry),
            ingest=IngestMetrics.build(registry),
            embeddings=EmbeddingMetrics.build(registry),
            search=SearchMetrics.build(registry),
            pool=PoolMetrics.build(registry),
        )
