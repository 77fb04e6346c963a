"""Vector store rows: one project's stores, read (optionally locked), listed, deleted, touched."""

from __future__ import annotations

import uuid

from sqlalchemy import delete as delete_rows
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.db.driver_sql import Runner
from maia_vectordb.db.models import VectorStore
from maia_vectordb.db.pagination import Page, PageRequest, paginate
from maia_vectordb.db.queries.scope import of_project, owned
from maia_vectordb.db.queries.tombstones import Kind, positions


async def get(
    session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str, lock: bool = False
) -> VectorStore | None:
    """`lock`: `FOR NO KEY UPDATE`, so a concurrent delete of the store waits for the caller."""
    query = owned(VectorStore, project_id).where(VectorStore.id == vector_store_id)
    if lock:
        query = query.with_for_update(key_share=True)
    return (await session.execute(query)).scalar_one_or_none()


async def list_page(
    session: AsyncSession, *, project_id: uuid.UUID, page: PageRequest
) -> Page[VectorStore]:
    query = owned(VectorStore, project_id)
    key, created = VectorStore.id, VectorStore.created_at
    places = positions(
        query, created=created, key=key, kind=Kind.VECTOR_STORE, scope=str(project_id)
    )
    return await paginate(session, query, key=key, created=created, page=page, places=places)


async def delete(session: AsyncSession, *, project_id: uuid.UUID, vector_store_id: str) -> None:
    """Its attachments, batches, chunks and jobs go with it (foreign keys cascade)."""
    await session.execute(
        delete_rows(VectorStore).where(
            VectorStore.id == vector_store_id, of_project(VectorStore, project_id)
        )
    )


async def mark_active(session: Runner, *, project_id: uuid.UUID, vector_store_id: str) -> None:
    """`last_active_at` on the database clock, and an `expires_after` deadline moved with it
    (one statement: on an autocommit connection it commits as it runs)."""
    await session.execute(
        update(VectorStore)
        .where(VectorStore.id == vector_store_id, of_project(VectorStore, project_id))
        .values(
            last_active_at=func.now(),
            expires_at=func.now() + func.make_interval(0, 0, 0, VectorStore.expires_after_days),
        )
    )
