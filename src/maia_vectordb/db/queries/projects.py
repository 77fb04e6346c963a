"""Projects: made on first use by name, and what one of them owns."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.db.models import File, Project, VectorStore
from maia_vectordb.db.queries.scope import of_project


async def ensure(session: AsyncSession, *, name: str) -> uuid.UUID:
    """The project's id, made if the name is new (concurrent callers agree on one row)."""
    stmt = (
        insert(Project)
        .values(id=uuid.uuid4(), name=name)
        .on_conflict_do_update(index_elements=[Project.name], set_={"name": name})
        .returning(Project.id)
    )
    return (await session.execute(stmt)).scalar_one()


async def count_objects(session: AsyncSession, *, project_id: uuid.UUID) -> int:
    """The project's files (expired or not) and vector stores."""
    files = select(func.count()).select_from(File).where(of_project(File, project_id))
    stores = (
        select(func.count()).select_from(VectorStore).where(of_project(VectorStore, project_id))
    )
    return sum([int(await session.scalar(query) or 0) for query in (files, stores)])
