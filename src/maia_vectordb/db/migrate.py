"""Run alembic from code so `serve`, `migrate` and the tests share one path.

Alembic itself is imported only when a database is behind: every start checks the
schema, and importing alembic costs about half a second that `keys list` and a warm
`serve` should not pay.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from maia_vectordb.db.vector_indexes import is_store_index
from maia_vectordb.embeddings.spec import ModelSpec

if TYPE_CHECKING:
    from alembic.config import Config

HEAD_REVISION = "20261130_0017"
"""The revision this code expects: the newest script in migrations/versions. A test
compares it with alembic's own reading of the scripts, so a new script must update it."""
MIGRATION_LOCK_KEY = 0x6D616961_76646200
"""One advisory lock id for schema changes ("maiavdb\\0"): held while one process upgrades."""
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def compare_type(
    ctx: Any, inspected: Any, metadata_col: Any, inspected_type: Any, metadata_type: Any
) -> bool | None:
    """The embedding's width is deployment configuration, not schema drift."""
    if metadata_col.name == "embedding":
        return type(inspected_type).__name__ != type(metadata_type).__name__
    return None


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """The per-store HNSW indexes follow the data (db/vector_indexes.py), not models."""
    return not (type_ == "index" and reflected and compare_to is None and is_store_index(name))


def alembic_config(url: str, default: ModelSpec) -> Config:
    """`default` is the server's default model: new databases index its width, and stores
    that predate per-store models are recorded as built with it."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["url"] = url
    cfg.attributes["embedding_provider"] = default.provider
    cfg.attributes["embedding_model"] = default.model
    cfg.attributes["embedding_dimensions"] = default.dimensions
    return cfg


def head_revision() -> str:
    return HEAD_REVISION


def script_head() -> str | None:
    """Alembic's head, read from the scripts (slow: imports alembic, parses every script)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("", ModelSpec("", "", 0))).get_current_head()


async def upgrade_head(url: str, default: ModelSpec) -> None:
    """Bring the schema to head once, however many processes start together.

    A database already at head costs one read. Otherwise the first process takes a
    session-level advisory lock and upgrades; the others wait on the lock, then find
    alembic has nothing left to do (two concurrent `CREATE EXTENSION`s would crash)."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            if await _revision(conn) == head_revision():
                return
            await _advisory(conn, "pg_advisory_lock")
            try:
                await _alembic_upgrade(url, default)
            finally:
                await _advisory(conn, "pg_advisory_unlock")
    finally:
        await engine.dispose()


async def _advisory(conn: AsyncConnection, function: str) -> None:
    await conn.execute(text(f"SELECT {function}(:key)"), {"key": MIGRATION_LOCK_KEY})
    await conn.commit()


async def _alembic_upgrade(url: str, default: ModelSpec) -> None:
    """Alembic's API is synchronous and runs its own loop for the async env; keep it off ours."""
    from alembic import command

    await asyncio.to_thread(command.upgrade, alembic_config(url, default), "head")


async def current_revision(engine: AsyncEngine) -> str | None:
    """A plain read of alembic's bookkeeping table: cheap enough for every readiness probe."""
    async with engine.connect() as conn:
        return await _revision(conn)


async def _revision(conn: AsyncConnection) -> str | None:
    exists = (await conn.execute(text("SELECT to_regclass('alembic_version')"))).scalar()
    if exists is None:
        return None
    return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
