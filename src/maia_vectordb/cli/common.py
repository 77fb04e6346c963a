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
        # A field's error is located by its group and variable; the variable is the name
        # the user set, so it alone is shown (a check across a group's fields names the group).
        lines = [f"  {e['loc'][-1]}: {e['msg']}" for e in exc.errors()]
        raise SystemExit("invalid configuration:\n" + "\n".join(lines)) from None


def describe(settings: Settings) -> None:
    log.info("database: %s", settings.database.describe())
    from maia_vectordb.embeddings.registry import offered_specs

    specs = offered_specs(settings.embeddings)
    log.info("embeddings: default %s", specs[0].describe())
    for spec in specs[1:]:
        log.info("embeddings: also offered %s", spec.describe())
    if specs[0].provider == "hash":
        log.warning("embeddings: EMBEDDING_PROVIDER=hash matches words, not meaning")
