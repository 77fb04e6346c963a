"""Keyset pagination over `(created_at, id)`: stable while rows are inserted concurrently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import CompoundSelect, Select, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from maia_vectordb.errors import InvalidRequest

Order = Literal["asc", "desc"]
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool


@dataclass(frozen=True)
class PageRequest:
    limit: int
    order: Order
    after: str | None = None
    before: str | None = None


async def _cursor(
    session: AsyncSession, places: Select[Any] | CompoundSelect[Any], value: str, param: str
) -> tuple[Any, str]:
    place = places.subquery("places")
    query = (
        select(place.c.created_at, place.c.id)
        .where(place.c.id == value)
        .order_by(place.c.rank)
        .limit(1)
    )
    row = (await session.execute(query)).first()
    if row is None:
        raise InvalidRequest(f"No such object for cursor '{param}': {value}", param=param)
    return row[0], row[1]


async def paginate(
    session: AsyncSession,
    scoped: Select[Any],
    *,
    key: InstrumentedAttribute[Any],
    created: InstrumentedAttribute[Any],
    page: PageRequest,
    places: Select[Any] | CompoundSelect[Any] | None = None,
) -> Page[Any]:
    """`after=X`: the `limit` items following X in the listing order. `before=X`: the
    `limit` items immediately preceding X (the previous page), still in listing order, with
    `has_more` saying whether more precede them. Both may be combined.

    `places`: `(created_at, id, rank)` of every item a cursor may name, lowest rank first
    (`db/queries/tombstones.positions`): X keeps its place when it no longer matches the
    list's filter, or has been deleted, as it does when a client changes or deletes what
    it pages through. Without it, only the listed rows."""
    query = scoped
    if places is None:
        places = scoped.with_only_columns(
            created.label("created_at"), key.label("id"), literal(0).label("rank")
        )
    pair = tuple_(created, key)
    forward = page.order == "asc"
    if page.after is not None:
        cursor = await _cursor(session, places, page.after, "after")
        query = query.where(pair > cursor if forward else pair < cursor)
    if page.before is not None:
        cursor = await _cursor(session, places, page.before, "before")
        query = query.where(pair < cursor if forward else pair > cursor)
    ascending = forward != (page.before is not None)
    ordering = (created.asc(), key.asc()) if ascending else (created.desc(), key.desc())
    rows = list((await session.execute(query.order_by(*ordering).limit(page.limit + 1))).scalars())
    items = rows[: page.limit]
    if page.before is not None:
        items.reverse()
    return Page(items=items, has_more=len(rows) > page.limit)
