"""Attaching files to a store: one rule for single files, store creation and batches.

The attachment row and its ingestion job are written in the caller's
transaction, so a file is never `in_progress` without work queued for it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.db.queries import file_batches, files, jobs
from maia_vectordb.db.queries import vector_store_files as queries
from maia_vectordb.errors import NotFound
from maia_vectordb.lifecycle import FileStatus
from maia_vectordb.logging_setup import REQUEST_ID
from maia_vectordb.schemas.chunking import AutoStrategy, StaticStrategy, resolve

RETRYABLE = (FileStatus.FAILED, FileStatus.CANCELLED)


@dataclass(frozen=True)
class AttachSpec:
    file_id: str
    attributes: dict[str, Any] | None = None
    chunking_strategy: AutoStrategy | StaticStrategy | None = None


async def require_files(
    session: AsyncSession, *, project_id: uuid.UUID, file_ids: list[str], param: str
) -> None:
    """Unknown (or another project's) file ids are a 404 naming the first one, as OpenAI does.

    The rows are held `FOR KEY SHARE` until commit: a concurrent file delete waits for
    this attach and then takes the new attachment with it, or wins and this is a 404.
    """
    found = await files.lock_live(session, project_id=project_id, file_ids=file_ids)
    for file_id in file_ids:
        if file_id not in found:
            raise NotFound(f"No such File object: {file_id}", param=param)


async def attach(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    vector_store_id: str,
    specs: list[AttachSpec],
    batch_id: str | None = None,
) -> list[str]:
    """Attach files; an existing attachment is kept unless it failed or was cancelled.

    Returns the ids now awaiting ingestion (each has exactly one job).
    """
    unique = list({spec.file_id: spec for spec in specs}.values())
    if not unique:
        return []
    now = await queries.attach(
        session,
        project_id=project_id,
        vector_store_id=vector_store_id,
        files=[_new(spec) for spec in unique],
        requeue=RETRYABLE,
    )
    queued = [f for f, status in now if status == FileStatus.IN_PROGRESS]
    if batch_id is not None:
        await file_batches.add_members(
            session,
            batch_id=batch_id,
            vector_store_id=vector_store_id,
            file_ids=[s.file_id for s in unique],
        )
    await jobs.enqueue(
        session,
        project_id=project_id,
        vector_store_id=vector_store_id,
        file_ids=queued,
        request_id=REQUEST_ID.get(),
    )
    return queued


def _new(spec: AttachSpec) -> queries.NewAttachment:
    strategy = resolve(spec.chunking_strategy).model_dump()
    return queries.NewAttachment(spec.file_id, spec.attributes, strategy)
