"""What every command needs: settings and a readable start-up log (the runtime does the rest)."""

from __future__ import annotations

import logging

from pydantic import ValidationError

from maia_vectordb.config import Settings

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
