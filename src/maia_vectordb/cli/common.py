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
        raise SystemExit(invalid_configuration(exc)) from None


def with_options(settings: Settings, **variables: object) -> Settings:
    """Command-line options (`--port`, `--concurrency`) over the configuration, held to the
    same rules as the variables they stand for."""
    try:
        return settings.replace(**variables)
    except ValidationError as exc:
        raise SystemExit(invalid_configuration(exc)) from None


def invalid_configuration(exc: ValidationError) -> str:
    """One line per fault, named by its variable: an error is located by group and
    variable, and the variable is what the user set (a check across a group names it)."""
    lines = [f"  {e['loc'][-1]}: {e['msg']}" for e in exc.errors()]
    return "invalid configuration:\n" + "\n".join(lines)


def describe(settings: Settings) -> None:
    log.info("database: %s", settings.database.describe())
    from maia_vectordb.embeddings.offer import offered_specs

    specs = offered_specs(settings.embeddings)
    log.info("embeddings: default %s", specs[0].describe())
    for spec in specs[1:]:
        log.info("embeddings: also offered %s", spec.describe())
    if specs[0].provider == "hash":
        log.warning("embeddings: EMBEDDING_PROVIDER=hash matches words, not meaning")
