"""What the lifespan builds and every request shares, typed in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from maia_vectordb.config import Settings
from maia_vectordb.embeddings import EmbedderRegistry
from maia_vectordb.ingest.chunking import Chunker
from maia_vectordb.ingest.liveness import WorkerMonitor
from maia_vectordb.observability.metrics import Metrics
from maia_vectordb.services.auth_gate import AuthGate


@dataclass(frozen=True)
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    search_engine: AsyncEngine | None
    """The search pool, in autocommit without pre-ping (`db.engine.build_search_engine`):
    a replica's when SEARCH_DATABASE_URL is set, else the primary's. None when every
    session rides one connection (`runtime.Database.one_connection`): searches then use
    `sessionmaker` like everything else."""
    embedders: EmbedderRegistry
    """Every model this server offers; each store is embedded and searched with its own."""
    chunker: Chunker
    auth: AuthGate
    metrics: Metrics
    workers: WorkerMonitor = field(default_factory=WorkerMonitor)
    """Liveness of the in-process ingestion tasks, for readiness."""
