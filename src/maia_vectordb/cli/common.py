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
    from maia_vectordb.embeddings.offer import offered_specs

    specs = offered_specs(settings)
    log.info("embeddings: default %s", specs[0].describe())
    for spec in specs[1:]:
        log.info("embeddings: also offered %s", spec.describe())
    if specs[0].provider == "hash":
        log.warning("embeddings: EMBEDDING_PROVIDER=hash matches words, not meaning")
