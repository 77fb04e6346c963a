"""Files attached to a store: attach, read, list, relabel, detach."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.db.counts import batch_member
from maia_vectordb.db.liveness import file_is_live
from maia_vectordb.db.models import FileBatchFile, FileChunk, VectorStoreFile
from maia_vectordb.db.pagination import PageRequest, paginate
from maia_vectordb.errors import NotFound
from maia_vectordb.schemas.chunking import StaticStrategyOut
from maia_vectordb.schemas.common import ListPage
from maia_vectordb.schemas.vector_store_files import (
    FileStatus,
    LastError,
    VectorStoreFileCreate,
    VectorStoreFileDeleted,
    VectorStoreFileObject,
    VectorStoreFileUpdate,
)
from maia_vectordb.services import attachments, vector_stores
from maia_vectordb.services.projects import owned
from maia_vectordb.services.timeutil import unix_required


def to_wire(row: VectorStoreFile) -> VectorStoreFileObject:
    return VectorStoreFileObject(
        id=row.file_id,
        usage_bytes=row.usage_bytes,
        created_at=unix_required(row.created_at),
        vector_store_id=row.vector_store_id,
        status=row.status,
        last_error=LastError.model_validate(row.last_error) if row.last_error else None,
        chunking_strategy=StaticStrategyOut.model_validate(row.chunking_strategy),
        attributes=row.attributes,
    )


def _in_store(project_id: uuid.UUID, vector_store_id: str) -> Select[VectorStoreFile]:
    """A store's attachments of live files: an expired file leaves the store at expiry."""
    return owned(VectorStoreFile, project_id).where(
        VectorStoreFile.vector_store_id == vector_store_id,
        file_is_live(VectorStoreFile.file_id),
    )


def _one(project_id: uuid.UUID, vector_store_id: str, file_id: str) -> Select[VectorStoreFile]:
    return _in_store(project_id, vector_store_id).where(VectorStoreFile.file_id == file_id)


async def get_row(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    vector_store_id: str,
    file_id: str,
    lock: bool = False,
) -> VectorStoreFile:
    query = _one(project_id, vector_store_id, file_id)
    if lock:
        query = query.with_for_update(of=VectorStoreFile, key_share=True)
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound(
            f"No file found with id '{file_id}' in vector store '{vector_store_id}'.",
            param="file_id",
        )
    return row


async def create(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    vector_store_id: str,
    body: VectorStoreFileCreate,
) -> VectorStoreFileObject:
    await vector_stores.get_writable_row(
        session, project_id=project_id, vector_store_id=vector_store_id
    )
    await attachments.require_files(
        session, project_id=project_id, file_ids=[body.file_id], param="file_id"
    )
    spec = attachments.AttachSpec(body.file_id, body.attributes, body.chunking_strategy)
    await attachments.attach(
        session, project_id=project_id, vector_store_id=vector_store_id, specs=[spec]
    )
    return await get(
        session, project_id=project_id, vector_store_id=vector_store_id, file_id=body.file_id
    )


async def get(
    session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str, file_id: str
) -> VectorStoreFileObject:
    row = await get_row(
        session, project_id=project_id, vector_store_id=vector_store_id, file_id=file_id
    )
    await session.refresh(row)
    return to_wire(row)


async def list_files(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    vector_store_id: str,
    page: PageRequest,
    status: FileStatus | None,
    batch_id: str | None = None,
) -> ListPage[VectorStoreFileObject]:
    await vector_stores.get_row(session, project_id=project_id, vector_store_id=vector_store_id)
    query = _in_store(project_id, vector_store_id)
    if status is not None:
        query = query.where(VectorStoreFile.status == status)
    if batch_id is not None:
        query = query.join(FileBatchFile, batch_member()).where(FileBatchFile.batch_id == batch_id)
    result = await paginate(
        session, query, key=VectorStoreFile.file_id, created=VectorStoreFile.created_at, page=page
    )
    data = [to_wire(row) for row in result.items]
    return ListPage[VectorStoreFileObject].of(data, has_more=result.has_more)


async def update_attributes(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    vector_store_id: str,
    file_id: str,
    body: VectorStoreFileUpdate,
) -> VectorStoreFileObject:
    """Chunks carry a copy of the attributes for filtered search; both change together.
    The attachment is locked first, so a concurrent detach either waits or makes this a 404.
    """
    row = await get_row(
        session, project_id=project_id, vector_store_id=vector_store_id, file_id=file_id, lock=True
    )
    row.attributes = body.attributes
    await session.flush()
    await session.execute(
        update(FileChunk)
        .where(FileChunk.vector_store_id == vector_store_id, FileChunk.file_id == file_id)
        .values(attributes=body.attributes)
    )
    return to_wire(row)


async def detach(
    session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str, file_id: str
) -> VectorStoreFileDeleted:
    """The file itself stays; its chunks and pending job go with the attachment."""
    await get_row(session, project_id=project_id, vector_store_id=vector_store_id, file_id=file_id)
    await session.execute(
        delete(VectorStoreFile).where(
            VectorStoreFile.vector_store_id == vector_store_id, VectorStoreFile.file_id == file_id
        )
    )
    return VectorStoreFileDeleted(id=file_id)
