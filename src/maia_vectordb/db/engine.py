"""Engine and session factory, built per app (never at import) from settings."""

from __future__ import annotations

from typing import Any

from pgvector import HalfVector
from pgvector.asyncpg import register_vector
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from maia_vectordb.config import DatabaseSettings
from maia_vectordb.db.halfvec import encode_halfvec

_FRESH = "maia_fresh"


def build_engine(database: DatabaseSettings, url: str) -> AsyncEngine:
    """A pooled asyncpg engine whose checkouts are pinged, so a restarted database is a
    retry, not an error. The ping is one `SELECT 1` (`_ping`), where SQLAlchemy's
    `pool_pre_ping` spends three round trips (BEGIN, `;`, ROLLBACK) on every checkout:
    half of an upload's round trips."""
    engine = _engine(database, url)
    event.listen(engine.sync_engine, "connect", _mark_fresh)
    event.listen(engine.sync_engine, "checkout", _ping)
    return engine


def _mark_fresh(_dbapi_connection: Any, record: Any) -> None:
    record.info[_FRESH] = True


def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """One round trip in the simple query protocol (no prepared statement, no
    transaction, so poolers in transaction mode are fine); a connection just opened
    needs none. A dead one is discarded and the pool hands out a fresh one instead."""
    if record.info.pop(_FRESH, False):
        return
    try:
        dbapi_connection.run_async(lambda driver: driver.execute("SELECT 1"))
    except Exception as exc:
        raise DisconnectionError("pooled connection failed its ping") from exc


def build_search_engine(database: DatabaseSettings, url: str) -> AsyncEngine:
    """The search pool: read-only statements in autocommit, no pre-ping, so a search costs
    only its own statements (no BEGIN, COMMIT or the ping's three round trips).

    A connection the database dropped fails its next statement instead: SQLAlchemy sees
    the disconnect, invalidates that connection and every other one opened before it, and
    the request answers 503 (`db/outage.py`); the next checkout connects afresh. Settings
    that search applies with `set_config(..., false)` last for the connection's session,
    which only searches use, and each search sets every one of them again."""
    return _engine(database, url, isolation_level="AUTOCOMMIT")


def _engine(database: DatabaseSettings, url: str, **options: Any) -> AsyncEngine:
    engine = create_async_engine(
        url,
        pool_size=database.pool_size,
        max_overflow=database.max_overflow,
        pool_timeout=database.pool_timeout,
        pool_recycle=database.pool_recycle,
        # Statement parameters hold chunk text, query text and embeddings; errors are
        # logged, so they must never quote them.
        hide_parameters=True,
        connect_args={"timeout": database.connect_timeout},
        **options,
    )
    return with_vector_codecs(engine)


def with_vector_codecs(engine: AsyncEngine) -> AsyncEngine:
    """Every connection `engine` opens speaks halfvec in binary, as the queries expect."""
    event.listen(engine.sync_engine, "connect", _register_vector_codecs)
    return engine


def _register_vector_codecs(dbapi_connection: Any, _record: Any) -> None:
    """Binary halfvec codecs, so COPY and search parameters skip text formatting."""
    dbapi_connection.run_async(_vector_codecs)


async def _vector_codecs(connection: Any) -> None:
    """pgvector's codecs, halfvec's encoder then replaced by one that packs float32 arrays
    in one step (`db.halfvec`); it encodes everything else as pgvector's does."""
    await register_vector(connection)
    await connection.set_type_codec(
        "halfvec",
        schema="public",
        encoder=encode_halfvec,
        decoder=HalfVector.from_binary,
        format="binary",
    )


def build_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def connection_sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions on one connection already inside its owner's transaction: a session's
    begin and commit become SAVEPOINT and RELEASE, and only the owner ends the transaction."""
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
