"""Vector stores: create (optionally with files), read, list, modify, delete, expire."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.db.models import VectorStore
from maia_vectordb.db.pagination import PageRequest
from maia_vectordb.db.queries import vector_stores as queries
from maia_vectordb.db.queries.counts import Tally, store_tallies
from maia_vectordb.embeddings import ModelSpec
from maia_vectordb.errors import InvalidRequest, NotFound
from maia_vectordb.schemas.common import ListPage
from maia_vectordb.schemas.vector_stores import (
    ExpiresAfter,
    FileCounts,
    VectorStoreCreate,
    VectorStoreDeleted,
    VectorStoreObject,
    VectorStoreUpdate,
)
from maia_vectordb.services import attachments
from maia_vectordb.services.embedding_models import choose_model
from maia_vectordb.services.ids import new_vector_store_id
from maia_vectordb.services.timeutil import unix, unix_required, utcnow


def file_counts(entry: Tally) -> FileCounts:
    return FileCounts(
        in_progress=entry.get("in_progress"),
        completed=entry.get("completed"),
        failed=entry.get("failed"),
        cancelled=entry.get("cancelled"),
        total=entry.total,
    )


def store_not_found(vector_store_id: str) -> NotFound:
    return NotFound(f"No vector store found with id '{vector_store_id}'.", param="vector_store_id")


def is_expired(row: VectorStore) -> bool:
    return row.expires_at is not None and row.expires_at <= utcnow()


def to_wire(row: VectorStore, entry: Tally) -> VectorStoreObject:
    status = (
        "expired" if is_expired(row) else "in_progress" if entry.get("in_progress") else "completed"
    )
    days = row.expires_after_days
    return VectorStoreObject(
        id=row.id,
        created_at=unix_required(row.created_at),
        name=row.name or "",
        description=row.description,
        usage_bytes=entry.usage_bytes,
        file_counts=file_counts(entry),
        status=status,
        expires_after=ExpiresAfter(anchor="last_active_at", days=days) if days else None,
        expires_at=unix(row.expires_at),
        last_active_at=unix(row.last_active_at),
        metadata=row.metadata_,
        embedding_model=row.embedding_model,
        embedding_dimension=row.embedding_dimensions,
        embedding_provider=row.embedding_provider,
    )


async def render(session: AsyncSession, row: VectorStore) -> VectorStoreObject:
    counts = await store_tallies(session, project_id=row.project_id, store_ids=[row.id])
    return to_wire(row, counts[row.id])


def _touch(row: VectorStore) -> None:
    """Activity moves `last_active_at`, and with it an `expires_after` deadline."""
    row.last_active_at = utcnow()
    if row.expires_after_days:
        row.expires_at = row.last_active_at + timedelta(days=row.expires_after_days)


async def get_row(
    session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str, lock: bool = False
) -> VectorStore:
    row = await queries.get(
        session, project_id=project_id, vector_store_id=vector_store_id, lock=lock
    )
    if row is None:
        raise store_not_found(vector_store_id)
    return row


async def get_writable_row(
    session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str
) -> VectorStore:
    """A store that accepts new files: it exists here and has not expired. Touches it.

    Locked until commit (`FOR NO KEY UPDATE`, the lock the touch takes anyway): a
    concurrent store delete waits and then takes the new files with it, or wins and this
    is a 404, never a foreign-key error.
    """
    row = await get_row(session, project_id=project_id, vector_store_id=vector_store_id, lock=True)
    if is_expired(row):
        raise InvalidRequest(
            f"Vector store {vector_store_id} has expired and cannot accept new files.",
            param="vector_store_id",
        )
    _touch(row)
    return row


async def create(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    body: VectorStoreCreate,
    offered: Sequence[ModelSpec],
) -> VectorStoreObject:
    """`offered`: the server's embedding models, its default first."""
    model = choose_model(
        offered,
        model=body.embedding_model,
        dimension=body.embedding_dimension,
        provider_id=body.provider_id,
    )
    file_ids = body.file_ids or []
    if body.chunking_strategy is not None and not file_ids:
        raise InvalidRequest(
            "chunking_strategy is only applicable if file_ids is non-empty",
            param="chunking_strategy",
        )
    await attachments.require_files(
        session, project_id=project_id, file_ids=file_ids, param="file_ids"
    )
    row = VectorStore(
        id=new_vector_store_id(),
        project_id=project_id,
        name=body.name,
        description=body.description,
        metadata_=body.metadata or {},
        expires_after_days=body.expires_after.days if body.expires_after else None,
        embedding_provider=model.provider,
        embedding_model=model.model,
        embedding_dimensions=model.dimensions,
    )
    _touch(row)
    row.created_at = row.last_active_at
    session.add(row)
    await session.flush()
    specs = [
        attachments.AttachSpec(file_id=f, chunking_strategy=body.chunking_strategy)
        for f in file_ids
    ]
    await attachments.attach(session, project_id=project_id, vector_store_id=row.id, specs=specs)
    return await render(session, row)


async def get(
    session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str
) -> VectorStoreObject:
    row = await get_row(session, project_id=project_id, vector_store_id=vector_store_id)
    return await render(session, row)


async def list_stores(
    session: AsyncSession, *, project_id: uuid.UUID, page: PageRequest
) -> ListPage[VectorStoreObject]:
    result = await queries.list_page(session, project_id=project_id, page=page)
    ids = [r.id for r in result.items]
    counts = await store_tallies(session, project_id=project_id, store_ids=ids)
    data = [to_wire(row, counts[row.id]) for row in result.items]
    return ListPage[VectorStoreObject].of(data, has_more=result.has_more)


async def update(
    session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str, body: VectorStoreUpdate
) -> VectorStoreObject:
    """Only the fields present in the body change; `null` clears expiry or metadata."""
    row = await get_row(session, project_id=project_id, vector_store_id=vector_store_id, lock=True)
    given = body.model_fields_set
    if "name" in given:
        row.name = body.name
    if "metadata" in given:
        row.metadata_ = body.metadata or {}
    if "expires_after" in given:
        row.expires_after_days = body.expires_after.days if body.expires_after else None
        row.expires_at = None
    _touch(row)
    await session.flush()
    return await render(session, row)


async def delete_store(
    session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str
) -> VectorStoreDeleted:
    await get_row(session, project_id=project_id, vector_store_id=vector_store_id)
    await queries.delete(session, project_id=project_id, vector_store_id=vector_store_id)
    return VectorStoreDeleted(id=vector_store_id)
