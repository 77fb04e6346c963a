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
from maia_vectordb.embeddings.registry import offered_specs

log = logging.getLogger("maia_vectordb")


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        lines = [f"  {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise SystemExit("invalid configuration:\n" + "\n".join(lines)) from None


def describe(settings: Settings) -> None:
    log.info("database: %s", settings.describe_database())
    specs = offered_specs(settings)
    log.info("embeddings: default %s", specs[0].describe())
    for spec in specs[1:]:
        log.info("embeddings: also offered %s", spec.describe())
    if specs[0].provider == "hash":
        log.warning("embeddings: EMBEDDING_PROVIDER=hash matches words, not meaning")


@contextlib.asynccontextmanager
async def migrated_database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A sessionmaker on a reachable database whose schema is at head."""
    async with database_url(settings) as url:
        await wait_for_database(url, within=STARTUP_DB_TIMEOUT)
        engine = build_engine(settings, url)
        try:
            specs = offered_specs(settings)
            await prepare_schema(engine, url, specs[0], specs)
            yield build_sessionmaker(engine)
        finally:
            await engine.dispose()
