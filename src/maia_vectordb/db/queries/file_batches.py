"""File batches: one project's batch, its members added, and its pending members cancelled."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from maia_vectordb.db.models import FileBatch, FileBatchFile, VectorStoreFile
from maia_vectordb.db.queries.bulk import insert_rows
from maia_vectordb.db.queries.scope import of_project, owned
from maia_vectordb.lifecycle import FileStatus


async def get(
    session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str, batch_id: str
) -> FileBatch | None:
    query = owned(FileBatch, project_id).where(
        FileBatch.id == batch_id, FileBatch.vector_store_id == vector_store_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def add_members(
    session: AsyncSession, *, batch_id: str, vector_store_id: str, file_ids: list[str]
) -> None:
    """Every file the batch sent is its member, even one another batch already attached."""
    members = [
        {"batch_id": batch_id, "vector_store_id": vector_store_id, "file_id": f} for f in file_ids
    ]
    await session.execute(insert_rows(FileBatchFile).on_conflict_do_nothing(), members)


async def cancel_pending(
    session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str, batch_id: str
) -> list[str]:
    """The batch's members still in progress, now `cancelled`; returns their file ids.

    Not a member that a later batch, not itself cancelled, also sent: that batch's run
    of the file goes on (cancelling one batch must not cancel another's files while the
    other reports them as its own). A member an earlier batch also sent is this batch's
    to cancel: this one sent it last."""
    this = select(FileBatch.created_at).where(FileBatch.id == batch_id).scalar_subquery()
    later = aliased(FileBatchFile)
    claimed_later = (
        select(later.file_id)
        .join(FileBatch, FileBatch.id == later.batch_id)
        .where(
            later.vector_store_id == vector_store_id,
            later.batch_id != batch_id,
            FileBatch.created_at > this,
            FileBatch.cancelled.is_(False),
        )
    )
    members = select(FileBatchFile.file_id).where(FileBatchFile.batch_id == batch_id)
    pending = and_(
        VectorStoreFile.vector_store_id == vector_store_id,
        VectorStoreFile.file_id.in_(members),
        VectorStoreFile.status == FileStatus.IN_PROGRESS,
        of_project(VectorStoreFile, project_id),
    )
    # First the members' rows, locked: a batch attaching them again right now holds them
    # until it commits, and the UPDATE, a statement of its own (a new snapshot), then
    # sees that batch's membership.
    await session.execute(
        select(VectorStoreFile.file_id).where(pending).with_for_update(key_share=True)
    )
    moved = await session.execute(
        update(VectorStoreFile)
        .where(pending, VectorStoreFile.file_id.not_in(claimed_later))
        .values(status=FileStatus.CANCELLED)
        .returning(VectorStoreFile.file_id)
    )
    return list(moved.scalars())
