"""Readiness: can we reach PostgreSQL, and is its schema the one this code needs?"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.db.migrate import current_revision, head_revision

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class ReadinessReport:
    status: str
    database: str
    schema_revision: str | None
    expected_revision: str | None


async def readiness(engine: AsyncEngine) -> ReadinessReport:
    expected = head_revision()
    try:
        revision = await asyncio.wait_for(current_revision(engine), READY_TIMEOUT_SECONDS)
    except (OSError, DBAPIError, OperationalError, TimeoutError) as exc:
        log.warning("health.database.unreachable", extra={"error": str(exc)})
        return ReadinessReport("unavailable", "unreachable", None, expected)
    status = "ok" if revision == expected else "unavailable"
    return ReadinessReport(status, "ok", revision, expected)
