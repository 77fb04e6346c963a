"""Client commands say only what their user asked for: INFO lines are held back.

Kept apart from the HTTP client code so `keys` can use it without importing that stack.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

NOISY_LOGGERS = ("maia_vectordb", "alembic", "httpx", "httpx2", "openai")


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """Per-request, per-file and migration INFO lines would scroll the bars and tables
    away; warnings still show, and LOG_LEVEL=DEBUG shows everything."""
    loggers = [logging.getLogger(name) for name in NOISY_LOGGERS]
    if logging.getLogger().getEffectiveLevel() <= logging.DEBUG:
        yield
        return
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
