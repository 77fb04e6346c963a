"""File batches: many attachments at once, counted and cancelled together."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.db.models import FileBatch
from maia_vectordb.db.queries import file_batches as queries
from maia_vectordb.db.queries import jobs
from maia_vectordb.db.queries.counts import Tally, batch_tally
from maia_vectordb.errors import InvalidRequest, NotFound
from maia_vectordb.lifecycle import BatchStatus, FileStatus
from maia_vectordb.schemas.vector_store_files import FileBatchCreate, FileBatchObject
from maia_vectordb.services import attachments, vector_stores
from maia_vectordb.services.ids import new_batch_id
from maia_vectordb.services.timeutil import unix_required, utcnow


def to_wire(row: FileBatch, entry: Tally) -> FileBatchObject:
    if entry.get(FileStatus.IN_PROGRESS):
        status = BatchStatus.CANCELLED if row.cancelled else BatchStatus.IN_PROGRESS
    elif row.cancelled:
        status = BatchStatus.CANCELLED
    elif entry.total and entry.get(FileStatus.FAILED) == entry.total:
        status = BatchStatus.FAILED
    else:
        status = BatchStatus.COMPLETED
    return FileBatchObject(
        id=row.id,
        created_at=unix_required(row.created_at),
        vector_store_id=row.vector_store_id,
        status=status,
        file_counts=vector_stores.file_counts(entry),
    )


async def _render(session: AsyncSession, row: FileBatch) -> FileBatchObject:
    tally = await batch_tally(session, project_id=row.project_id, batch_id=row.id)
    return to_wire(row, tally)


def _specs(body: FileBatchCreate) -> list[attachments.AttachSpec]:
    if body.files is not None and body.file_ids is not None:
        raise InvalidRequest("Provide either file_ids or files, not both.", param="files")
    if body.files is not None:
        return [
            attachments.AttachSpec(
                f.file_id,
                f.attributes if "attributes" in f.model_fields_set else body.attributes,
                f.chunking_strategy or body.chunking_strategy,
            )
            for f in body.files
        ]
    if not body.file_ids:
        raise InvalidRequest("file_ids must contain at least one file id.", param="file_ids")
    return [
        attachments.AttachSpec(f, body.attributes, body.chunking_strategy) for f in body.file_ids
    ]


async def create(
    session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str, body: FileBatchCreate
) -> FileBatchObject:
    specs = _specs(body)
    if not specs:
        raise InvalidRequest("files must contain at least one file.", param="files")
    await vector_stores.get_writable_row(
        session, project_id=project_id, vector_store_id=vector_store_id
    )
    param = "files" if body.files is not None else "file_ids"
    await attachments.require_files(
        session, project_id=project_id, file_ids=[s.file_id for s in specs], param=param
    )
    row = FileBatch(
        id=new_batch_id(),
        project_id=project_id,
        vector_store_id=vector_store_id,
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    await attachments.attach(
        session,
        project_id=project_id,
        vector_store_id=vector_store_id,
        specs=specs,
        batch_id=row.id,
    )
    return await _render(session, row)


async def get_row(
    session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str, batch_id: str
) -> FileBatch:
    row = await queries.get(
        session, project_id=project_id, vector_store_id=vector_store_id, batch_id=batch_id
    )
    if row is None:
        raise NotFound(f"No file batch found with id '{batch_id}'.", param="batch_id")
    return row


async def get(
    session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str, batch_id: str
) -> FileBatchObject:
    row = await get_row(
        session, project_id=project_id, vector_store_id=vector_store_id, batch_id=batch_id
    )
    return await _render(session, row)


async def cancel(
    session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str, batch_id: str
) -> FileBatchObject:
    """Pending files become `cancelled` and lose their jobs; finished ones keep their state,
    and so do files a later batch sent again (`queries.cancel_pending`). A batch no longer
    in progress is returned unchanged, as OpenAI does.

    A worker mid-way through a cancelled file notices at its final write and
    discards its chunks, so cancellation is immediate and complete.
    """
    row = await get_row(
        session, project_id=project_id, vector_store_id=vector_store_id, batch_id=batch_id
    )
    current = await _render(session, row)
    if current.status != "in_progress":
        return current
    row.cancelled = True
    file_ids = await queries.cancel_pending(
        session, project_id=project_id, vector_store_id=vector_store_id, batch_id=batch_id
    )
    await jobs.discard(
        session, project_id=project_id, vector_store_id=vector_store_id, file_ids=file_ids
    )
    await session.flush()
    return await _render(session, row)
