"""Attachments (a file in a store): read, listed, paged text, relabelled, detached, upserted."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, literal, or_, text, update
from sqlalchemy import delete as delete_rows
from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.db.liveness import file_is_live
from maia_vectordb.db.models import FileBatchFile, FileChunk, VectorStoreFile
from maia_vectordb.db.pagination import Page, PageRequest, paginate
from maia_vectordb.db.queries.bulk import insert_rows
from maia_vectordb.db.queries.counts import batch_member
from maia_vectordb.db.queries.scope import in_owned_store, of_project, owned
from maia_vectordb.db.queries.tombstones import Kind, positions
from maia_vectordb.lifecycle import FileStatus


@dataclass(frozen=True)
class NewAttachment:
    file_id: str
    attributes: dict[str, Any] | None
    chunking_strategy: dict[str, Any]


@dataclass(frozen=True)
class Settled:
    """An attachment's ingestion outcome; `content` and `usage_bytes` None keep the row's."""

    vector_store_id: str
    file_id: str
    status: FileStatus
    last_error: dict[str, str] | None
    content: str | None
    usage_bytes: int | None


# Every outcome of a worker's batch in one statement, its rows as arrays zipped by
# unnest: one execution for 500 files, not an UPDATE (and an ORM row) per file.
_SETTLE = text(
    """
    UPDATE vector_store_files v
    SET status = u.status, last_error = u.last_error::jsonb,
        content = coalesce(u.content, v.content),
        usage_bytes = coalesce(u.usage_bytes, v.usage_bytes)
    FROM unnest(CAST(:stores AS text[]), CAST(:files AS text[]), CAST(:statuses AS text[]),
                CAST(:errors AS text[]), CAST(:contents AS text[]), CAST(:usage AS bigint[]))
         AS u(vector_store_id, file_id, status, last_error, content, usage_bytes)
    WHERE v.vector_store_id = u.vector_store_id AND v.file_id = u.file_id
    """
)


async def settle_many(session: AsyncSession, outcomes: Sequence[Settled]) -> None:
    """Write each attachment's status, error, text and usage, in the caller's transaction."""
    if not outcomes:
        return
    errors = [None if o.last_error is None else json.dumps(o.last_error) for o in outcomes]
    params = {
        "stores": [o.vector_store_id for o in outcomes],
        "files": [o.file_id for o in outcomes],
        "statuses": [str(o.status) for o in outcomes],
        "errors": errors,
        "contents": [o.content for o in outcomes],
        "usage": [o.usage_bytes for o in outcomes],
    }
    await session.execute(_SETTLE, params)


def _in_store(project_id: uuid.UUID, vector_store_id: str) -> Select[VectorStoreFile]:
    """A store's attachments of live files: an expired file leaves the store at expiry."""
    return owned(VectorStoreFile, project_id).where(
        VectorStoreFile.vector_store_id == vector_store_id,
        file_is_live(VectorStoreFile.file_id),
    )


def _one(project_id: uuid.UUID, vector_store_id: str, file_id: str) -> Select[VectorStoreFile]:
    return _in_store(project_id, vector_store_id).where(VectorStoreFile.file_id == file_id)


async def get(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    vector_store_id: str,
    file_id: str,
    lock: bool = False,
) -> VectorStoreFile | None:
    """`lock`: the attachment row only (`FOR NO KEY UPDATE`), so a concurrent detach waits."""
    query = _one(project_id, vector_store_id, file_id)
    if lock:
        query = query.with_for_update(of=VectorStoreFile, key_share=True)
    return (await session.execute(query)).scalar_one_or_none()


async def list_page(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    vector_store_id: str,
    page: PageRequest,
    status: str | None,
    batch_id: str | None,
) -> Page[VectorStoreFile]:
    """`batch_id`: only the files that batch sent, whichever batch last attached each. A
    cursor may name an attachment this list no longer shows (its status moved on, detached,
    its file deleted or expired): it keeps its place (`tombstones.positions`)."""
    attached = owned(VectorStoreFile, project_id).where(
        VectorStoreFile.vector_store_id == vector_store_id
    )
    query = attached.where(file_is_live(VectorStoreFile.file_id))
    if status is not None:
        query = query.where(VectorStoreFile.status == status)
    if batch_id is not None:
        query = query.join(FileBatchFile, batch_member()).where(FileBatchFile.batch_id == batch_id)
    key, created = VectorStoreFile.file_id, VectorStoreFile.created_at
    kind = Kind.VECTOR_STORE_FILE
    places = positions(attached, created=created, key=key, kind=kind, scope=vector_store_id)
    return await paginate(session, query, key=key, created=created, page=page, places=places)


async def content_slice(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    vector_store_id: str,
    file_id: str,
    start: int,
    chars: int,
) -> tuple[int, str] | None:
    """The parsed text's length and up to `chars` characters from `start` (PostgreSQL cuts
    them out, so Python never holds the whole text); None when there is no such file."""
    text = VectorStoreFile.content
    query = _one(project_id, vector_store_id, file_id).with_only_columns(
        func.length(text), func.substr(text, start + 1, chars)
    )
    row = (await session.execute(query)).first()
    if row is None:
        return None
    return int(row[0] or 0), row[1] or ""


async def relabel_chunks(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    vector_store_id: str,
    file_id: str,
    attributes: dict[str, Any] | None,
) -> None:
    """Chunks carry a copy of their attachment's attributes, for filtered search."""
    await session.execute(
        update(FileChunk)
        .where(
            FileChunk.vector_store_id == vector_store_id,
            FileChunk.file_id == file_id,
            in_owned_store(FileChunk.vector_store_id, project_id),
        )
        .values(attributes=attributes)
    )


async def detach(
    session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str, file_id: str
) -> None:
    """Its chunks, job and batch memberships go with it (foreign keys cascade)."""
    await session.execute(
        delete_rows(VectorStoreFile).where(
            VectorStoreFile.vector_store_id == vector_store_id,
            VectorStoreFile.file_id == file_id,
            of_project(VectorStoreFile, project_id),
        )
    )


async def attach(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    vector_store_id: str,
    files: Sequence[NewAttachment],
    requeue: Sequence[FileStatus],
) -> list[tuple[str, str]]:
    """Each file attached `in_progress`; an existing attachment is replaced by the new one
    only when its status is in `requeue`, else kept as it is. Returns every file's
    `(file_id, status)` as it now stands."""
    rows = [_row(project_id, vector_store_id, f) for f in files]
    stmt = insert_rows(VectorStoreFile)
    excluded = stmt.excluded
    # Literal values, not an expanding IN: the statement runs once per row (executemany).
    again = or_(*(VectorStoreFile.status == literal(str(status)) for status in requeue))
    upsert = stmt.on_conflict_do_update(
        index_elements=[VectorStoreFile.vector_store_id, VectorStoreFile.file_id],
        set_={
            "status": _when(again, excluded.status, VectorStoreFile.status),
            "last_error": _when(again, None, VectorStoreFile.last_error),
            "attributes": _when(again, excluded.attributes, VectorStoreFile.attributes),
            "chunking_strategy": _when(
                again, excluded.chunking_strategy, VectorStoreFile.chunking_strategy
            ),
        },
    ).returning(VectorStoreFile.file_id, VectorStoreFile.status)
    return [(file_id, status) for file_id, status in await session.execute(upsert, rows)]


def _when(condition: Any, then: Any, otherwise: Any) -> Any:
    return case((condition, then), else_=otherwise)


def _row(project_id: uuid.UUID, vector_store_id: str, new: NewAttachment) -> dict[str, Any]:
    return {
        "vector_store_id": vector_store_id,
        "file_id": new.file_id,
        "project_id": project_id,
        "status": FileStatus.IN_PROGRESS,
        "attributes": new.attributes,
        "chunking_strategy": new.chunking_strategy,
    }
