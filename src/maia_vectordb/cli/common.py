"""What every command needs: settings, a readable start-up log, a migrated database."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from maia_vectordb.config import Settings
from maia_vectordb.db.bootstrap import (
    STARTUP_DB_TIMEOUT,
    database_url,
    prepare_schema,
    wait_for_database,
)
from maia_vectordb.db.engine import build_engine, build_sessionmaker

log = logging.getLogger("maia_vectordb")


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        lines = [f"  {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise SystemExit("invalid configuration:\n" + "\n".join(lines)) from None


def describe(settings: Settings) -> None:
    log.info("database: %s", settings.describe_database())
    provider = settings.resolved_provider
    log.info(
        "embeddings: provider=%s model=%s dimensions=%d",
        provider,
        settings.embedding_model if provider == "openai" else "local-hash",
        settings.embedding_dimensions,
    )
    if provider == "local":
        log.warning(
            "embeddings: no OPENAI_API_KEY, using the offline lexical LocalHashEmbeddings; "
            "search matches words, not meaning"
        )


@contextlib.asynccontextmanager
async def migrated_database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A sessionmaker on a reachable database whose schema is at head."""
    async with database_url(settings) as url:
        await wait_for_database(url, within=STARTUP_DB_TIMEOUT)
        engine = build_engine(settings, url)
        try:
            await prepare_schema(engine, url, settings.embedding_dimensions)
            yield build_sessionmaker(engine)
        finally:
            await engine.dispose()
