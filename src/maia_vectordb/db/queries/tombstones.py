"""Where deleted list items stood (`list_tombstones`, migration 20261130_0016): the
positions a list cursor may name, and the sweep that forgets them after a day.

Delete triggers write the rows, so every way a store, file or attachment goes (a route,
a cascade, the expiry purge) leaves its position behind; nothing here writes one."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import CompoundSelect, Select, delete, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from maia_vectordb.db.models import ListTombstone

KEEP = timedelta(days=1)
"""Long enough for any paging loop to pass the item it deleted; the table stays as small
as a day's deletes."""


class Kind(StrEnum):
    """A list whose deleted items keep their place; the values are the triggers'."""

    VECTOR_STORE = "vector_store"
    FILE = "file"
    VECTOR_STORE_FILE = "vector_store_file"


def positions(
    listed: Select[Any],
    *,
    created: InstrumentedAttribute[Any],
    key: InstrumentedAttribute[Any],
    kind: Kind,
    scope: str,
) -> CompoundSelect[Any]:
    """`(created_at, id, rank)` of every item a cursor into the list may name: `listed`'s
    rows (the list's parent scope, before any filter narrows what is shown), then the
    list's deleted items (rank 1, so a live row wins over an earlier deletion of the same
    id, e.g. a file detached and attached again)."""
    live = listed.with_only_columns(
        created.label("created_at"), key.label("id"), literal(0).label("rank")
    )
    gone = select(ListTombstone.created_at, ListTombstone.id, literal(1).label("rank")).where(
        ListTombstone.kind == kind, ListTombstone.scope == scope
    )
    return union_all(live, gone)


async def sweep(session: AsyncSession) -> int:
    """Forget the positions of items deleted more than `KEEP` ago; how many went."""
    result = await session.execute(
        delete(ListTombstone).where(ListTombstone.deleted_at < func.now() - KEEP)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
