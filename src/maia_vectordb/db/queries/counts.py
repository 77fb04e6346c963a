"""Per-store and per-batch file counts, derived from the attachments on every read.

Deriving rather than storing them means a count can never drift from the rows.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from maia_vectordb.db.liveness import file_is_live
from maia_vectordb.db.models import FileBatchFile, VectorStoreFile
from maia_vectordb.db.queries.scope import of_project


@dataclass
class Tally:
    by_status: dict[str, int] = field(default_factory=dict)
    usage_bytes: int = 0

    def get(self, status: str) -> int:
        return self.by_status.get(status, 0)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def _counts(owner: InstrumentedAttribute[Any], project_id: uuid.UUID) -> Select[Any]:
    """Attachments of live files only: an expired file leaves the counts at expiry."""
    return (
        select(
            owner,
            VectorStoreFile.status,
            func.count(),
            func.coalesce(func.sum(VectorStoreFile.usage_bytes), 0),
        )
        .select_from(VectorStoreFile)
        .where(of_project(VectorStoreFile, project_id), file_is_live(VectorStoreFile.file_id))
        .group_by(owner, VectorStoreFile.status)
    )


async def _collect(session: AsyncSession, query: Select[Any]) -> dict[str, Tally]:
    result: dict[str, Tally] = defaultdict(Tally)
    for owner, status, count, usage in await session.execute(query):
        entry = result[owner]
        entry.by_status[status] = int(count)
        entry.usage_bytes += int(usage)
    return result


async def store_tallies(
    session: AsyncSession, *, project_id: uuid.UUID, store_ids: Iterable[str]
) -> dict[str, Tally]:
    """Counts by status and summed usage for each store."""
    wanted = list(store_ids)
    if not wanted:
        return defaultdict(Tally)
    owner = VectorStoreFile.vector_store_id
    return await _collect(session, _counts(owner, project_id).where(owner.in_(wanted)))


async def batch_tally(session: AsyncSession, *, project_id: uuid.UUID, batch_id: str) -> Tally:
    """Counts over the batch's own members, whichever batch last sent each file."""
    query = (
        _counts(FileBatchFile.batch_id, project_id)
        .join(FileBatchFile, batch_member())
        .where(FileBatchFile.batch_id == batch_id)
    )
    return (await _collect(session, query))[batch_id]


def batch_member() -> ColumnElement[bool]:
    """The join of an attachment to its batch memberships."""
    return and_(
        FileBatchFile.vector_store_id == VectorStoreFile.vector_store_id,
        FileBatchFile.file_id == VectorStoreFile.file_id,
    )
