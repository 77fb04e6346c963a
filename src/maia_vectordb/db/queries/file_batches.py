"""File batches: one project's batch, its members added, and its pending members moved on."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

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


async def move_members(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    vector_store_id: str,
    batch_id: str,
    from_status: FileStatus,
    to_status: FileStatus,
) -> list[str]:
    """The batch's members in `from_status` now in `to_status`; returns their file ids."""
    members = select(FileBatchFile.file_id).where(FileBatchFile.batch_id == batch_id)
    moved = await session.execute(
        update(VectorStoreFile)
        .where(
            VectorStoreFile.vector_store_id == vector_store_id,
            VectorStoreFile.file_id.in_(members),
            VectorStoreFile.status == from_status,
            of_project(VectorStoreFile, project_id),
        )
        .values(status=to_status)
        .returning(VectorStoreFile.file_id)
    )
    return list(moved.scalars())
