"""Housekeeping for what ages out, on a schedule the runtime keeps: expired files are
purged, and the list positions of items deleted a day ago are forgotten.

Reads already hide an expired file (see `files.is_live`); this only reclaims its bytes,
attachments and chunks. Every process may run it: the deletes are idempotent."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from maia_vectordb.db.queries import tombstones
from maia_vectordb.observability.errors import describe_error
from maia_vectordb.services import files

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 60.0


async def purge_expired_files(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """The expired files' bytes, attachments and chunks; how many files went."""
    purged = await _round(sessionmaker, files.purge_expired, "files.expired.purge_failed")
    if purged:
        log.info("files.expired.purged", extra={"files": purged})
    return purged


async def forget_deleted_positions(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """One sweep of `list_tombstones` (`db/queries/tombstones.py`)."""
    return await _round(sessionmaker, tombstones.sweep, "list_tombstones.sweep_failed")


async def _round(
    sessionmaker: async_sessionmaker[AsyncSession],
    work: Callable[[AsyncSession], Awaitable[int]],
    failed: str,
) -> int:
    """One round in its own unit of work; any failure (an outage, a pool timeout) skips the
    round, not the schedule, and is logged as `failed` without the driver's text."""
    try:
        async with sessionmaker() as session, session.begin():
            return await work(session)
    except Exception as exc:
        log.warning(failed, extra=describe_error(exc))
        return 0
