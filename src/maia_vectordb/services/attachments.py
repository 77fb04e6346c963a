"""Attaching files to a store: one rule for single files, store creation and batches.

The attachment row and its ingestion job are written in the caller's
transaction, so a file is never `in_progress` without work queued for it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.db import jobs
from maia_vectordb.db.liveness import is_live
from maia_vectordb.db.models import File, FileBatchFile, VectorStoreFile
from maia_vectordb.errors import NotFound
from maia_vectordb.logging_setup import REQUEST_ID
from maia_vectordb.schemas.chunking import AutoStrategy, StaticStrategy, resolve

RETRYABLE = ("failed", "cancelled")


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
    query = (
        select(File.id)
        .where(File.project_id == project_id, File.id.in_(file_ids), is_live())
        .with_for_update(read=True, key_share=True)
    )
    found = set((await session.execute(query)).scalars())
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
    rows = [_row(project_id, vector_store_id, spec) for spec in unique]
    stmt = insert(VectorStoreFile).values(rows)
    excluded = stmt.excluded
    requeue = VectorStoreFile.status.in_(RETRYABLE)
    upsert = stmt.on_conflict_do_update(
        index_elements=[VectorStoreFile.vector_store_id, VectorStoreFile.file_id],
        set_={
            "status": _when(requeue, excluded.status, VectorStoreFile.status),
            "last_error": _when(requeue, None, VectorStoreFile.last_error),
            "attributes": _when(requeue, excluded.attributes, VectorStoreFile.attributes),
            "chunking_strategy": _when(
                requeue, excluded.chunking_strategy, VectorStoreFile.chunking_strategy
            ),
        },
    ).returning(VectorStoreFile.file_id, VectorStoreFile.status)
    queued = [f for f, status in await session.execute(upsert) if status == "in_progress"]
    if batch_id is not None:
        await _add_members(session, batch_id, vector_store_id, [s.file_id for s in unique])
    await jobs.enqueue(
        session,
        project_id=project_id,
        vector_store_id=vector_store_id,
        file_ids=queued,
        request_id=REQUEST_ID.get(),
    )
    return queued


def _when(condition: Any, then: Any, otherwise: Any) -> Any:
    return case((condition, then), else_=otherwise)


async def _add_members(
    session: AsyncSession, batch_id: str, vector_store_id: str, file_ids: list[str]
) -> None:
    """Every file the batch sent is its member, even one another batch already attached."""
    members = [
        {"batch_id": batch_id, "vector_store_id": vector_store_id, "file_id": f} for f in file_ids
    ]
    await session.execute(insert(FileBatchFile).values(members).on_conflict_do_nothing())


def _row(project_id: uuid.UUID, vector_store_id: str, spec: AttachSpec) -> dict[str, Any]:
    return {
        "vector_store_id": vector_store_id,
        "file_id": spec.file_id,
        "project_id": project_id,
        "status": "in_progress",
        "attributes": spec.attributes,
        "chunking_strategy": resolve(spec.chunking_strategy).model_dump(),
    }
