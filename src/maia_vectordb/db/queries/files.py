"""File rows: one project's files, read, listed, locked for attaching, deleted; expiry."""

from __future__ import annotations

import uuid

from sqlalchemy import delete as delete_rows
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.db.liveness import is_live
from maia_vectordb.db.models import File
from maia_vectordb.db.pagination import Page, PageRequest, paginate
from maia_vectordb.db.queries.bulk import is_any
from maia_vectordb.db.queries.scope import of_project, owned
from maia_vectordb.db.queries.tombstones import Kind, positions


async def get(session: AsyncSession, *, project_id: uuid.UUID, file_id: str) -> File | None:
    query = owned(File, project_id).where(File.id == file_id, is_live())
    return (await session.execute(query)).scalar_one_or_none()


async def list_page(
    session: AsyncSession, *, project_id: uuid.UUID, page: PageRequest, purpose: str | None
) -> Page[File]:
    """A cursor may name a file this list no longer shows (deleted, expired, another
    purpose): it keeps its place (`tombstones.positions`)."""
    mine = owned(File, project_id)
    query = mine.where(is_live())
    if purpose is not None:
        query = query.where(File.purpose == purpose)
    key, created = File.id, File.created_at
    places = positions(mine, created=created, key=key, kind=Kind.FILE, scope=str(project_id))
    return await paginate(session, query, key=key, created=created, page=page, places=places)


async def lock_live(
    session: AsyncSession, *, project_id: uuid.UUID, file_ids: list[str]
) -> set[str]:
    """Which of `file_ids` are this project's live files, held `FOR KEY SHARE` until commit:
    a concurrent delete of one waits for the caller's attach to land."""
    query = (
        select(File.id)
        .where(of_project(File, project_id), is_any(File.id, file_ids), is_live())
        .with_for_update(read=True, key_share=True)
    )
    return set((await session.execute(query)).scalars())


async def delete(session: AsyncSession, *, project_id: uuid.UUID, file_id: str) -> None:
    """Attachments, chunks and parts go with the row (foreign keys cascade)."""
    await session.execute(delete_rows(File).where(File.id == file_id, of_project(File, project_id)))


async def purge_expired(session: AsyncSession) -> int:
    """Every project's expired files, with their parts, attachments and chunks."""
    result = await session.execute(
        delete_rows(File).where(File.expires_at.is_not(None), File.expires_at <= func.now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
