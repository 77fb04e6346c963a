"""Engine and session factory, built per app (never at import) from settings."""

from __future__ import annotations

from typing import Any

from pgvector.asyncpg import register_vector
from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from maia_vectordb.config import Settings


def build_engine(settings: Settings, url: str) -> AsyncEngine:
    """A pooled asyncpg engine; pre-ping turns a restarted database into a retry, not an error."""
    engine = create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=settings.db_pool_recycle,
        pool_pre_ping=True,
        # Statement parameters hold chunk text, query text and embeddings; errors are
        # logged, so they must never quote them.
        hide_parameters=True,
        connect_args={"timeout": settings.db_connect_timeout},
    )
    event.listen(engine.sync_engine, "connect", _register_vector_codecs)
    return engine


def _register_vector_codecs(dbapi_connection: Any, _record: Any) -> None:
    """Binary halfvec codecs, so COPY and search parameters skip text formatting."""
    dbapi_connection.run_async(register_vector)


def build_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
