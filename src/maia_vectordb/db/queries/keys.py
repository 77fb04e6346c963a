"""API keys (stored as hashes): registered, listed, revoked, counted, found, touched.

Key administration (the CLI) and authentication work across projects by nature:
authentication is what finds the project in the first place.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import ColumnElement, Row, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.db.models import ApiKey, Project


async def add(
    session: AsyncSession, *, project_id: uuid.UUID, key_id: uuid.UUID, prefix: str, key_hash: str
) -> None:
    """Re-adding a known key is a no-op."""
    await session.execute(
        insert(ApiKey)
        .values(id=key_id, project_id=project_id, prefix=prefix, key_hash=key_hash)
        .on_conflict_do_nothing(index_elements=[ApiKey.key_hash])
    )


async def registration(session: AsyncSession, *, key_hash: str) -> Row[str, bool] | None:
    """The project name the key with this hash opens, and whether it is revoked."""
    query = (
        select(Project.name, ApiKey.revoked_at.is_not(None))
        .join(Project)
        .where(ApiKey.key_hash == key_hash)
    )
    return (await session.execute(query)).first()


async def list_all(session: AsyncSession) -> list[tuple[ApiKey, str]]:
    """Every key with its project's name, oldest first."""
    query = select(ApiKey, Project.name).join(Project).order_by(ApiKey.created_at)
    return [(key, name) for key, name in await session.execute(query)]


async def revoke_by_hash(session: AsyncSession, *, key_hash: str) -> int:
    return await _revoke(session, ApiKey.key_hash == key_hash)


async def revoke_by_prefix(session: AsyncSession, *, prefix: str) -> int:
    return await _revoke(session, ApiKey.prefix == prefix)


async def _revoke(session: AsyncSession, match: ColumnElement[bool]) -> int:
    result = await session.execute(
        update(ApiKey).where(match, ApiKey.revoked_at.is_(None)).values(revoked_at=func.now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def active_count(session: AsyncSession) -> int:
    query = select(func.count()).select_from(ApiKey).where(ApiKey.revoked_at.is_(None))
    return int(await session.scalar(query) or 0)


async def counts(session: AsyncSession) -> tuple[int, int]:
    """(active keys, keys ever registered)."""
    active = func.count().filter(ApiKey.revoked_at.is_(None))
    row = (await session.execute(select(active, func.count()).select_from(ApiKey))).one()
    return int(row[0]), int(row[1])


async def find_active(
    session: AsyncSession, *, key_hash: str
) -> Row[uuid.UUID, uuid.UUID, str] | None:
    """The unrevoked key with this hash: its `id`, `project_id` and `key_hash`."""
    query = select(ApiKey.id, ApiKey.project_id, ApiKey.key_hash).where(
        ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None)
    )
    return (await session.execute(query)).first()


async def touch(session: AsyncSession, *, key_id: uuid.UUID, every: timedelta) -> None:
    """Mark the key used unless it was within `every`, never waiting for another's lock."""
    stale = select(ApiKey.id).where(
        ApiKey.id == key_id,
        or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < func.now() - every),
    )
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id.in_(stale.with_for_update(skip_locked=True)))
        .values(last_used_at=func.now())
    )
