"""Files attached to a store: attach, read, list, relabel, detach."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.db.models import VectorStoreFile
from maia_vectordb.db.pagination import PageRequest
from maia_vectordb.db.queries import vector_store_files as queries
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


def attachment_not_found(vector_store_id: str, file_id: str) -> NotFound:
    return NotFound(
        f"No file found with id '{file_id}' in vector store '{vector_store_id}'.",
        param="file_id",
    )


async def get_row(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    vector_store_id: str,
    file_id: str,
    lock: bool = False,
) -> VectorStoreFile:
    """An attachment of a live file in this project's store; `lock` holds it until commit."""
    row = await queries.get(
        session,
        project_id=project_id,
        vector_store_id=vector_store_id,
        file_id=file_id,
        lock=lock,
    )
    if row is None:
        raise attachment_not_found(vector_store_id, file_id)
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
    result = await queries.list_page(
        session,
        project_id=project_id,
        vector_store_id=vector_store_id,
        page=page,
        status=status,
        batch_id=batch_id,
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
    await queries.relabel_chunks(
        session,
        project_id=project_id,
        vector_store_id=vector_store_id,
        file_id=file_id,
        attributes=body.attributes,
    )
    return to_wire(row)


async def detach(
    session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str, file_id: str
) -> VectorStoreFileDeleted:
    """The file itself stays; its chunks and pending job go with the attachment."""
    await get_row(session, project_id=project_id, vector_store_id=vector_store_id, file_id=file_id)
    await queries.detach(
        session, project_id=project_id, vector_store_id=vector_store_id, file_id=file_id
    )
    return VectorStoreFileDeleted(id=file_id)
