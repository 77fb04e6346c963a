"""Per-store and per-batch file counts, derived from the attachments on every read.

Deriving rather than storing them means a count can never drift from the rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from maia_vectordb.db.models import VectorStoreFile


@dataclass
class Tally:
    by_status: dict[str, int] = field(default_factory=dict)
    usage_bytes: int = 0

    def get(self, status: str) -> int:
        return self.by_status.get(status, 0)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


async def tally(
    session: AsyncSession, column: InstrumentedAttribute[Any], ids: Iterable[str]
) -> dict[str, Tally]:
    """Counts by status and summed usage for each id of `column` (store or batch)."""
    wanted = list(ids)
    result: dict[str, Tally] = defaultdict(Tally)
    if not wanted:
        return result
    query = (
        select(
            column,
            VectorStoreFile.status,
            func.count(),
            func.coalesce(func.sum(VectorStoreFile.usage_bytes), 0),
        )
        .where(column.in_(wanted))
        .group_by(column, VectorStoreFile.status)
    )
    for owner, status, count, usage in await session.execute(query):
        entry = result[owner]
        entry.by_status[status] = int(count)
        entry.usage_bytes += int(usage)
    return result
