"""Keyset pagination over `(created_at, id)`: stable while rows are inserted concurrently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import Select, tuple_
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
    session: AsyncSession,
    scoped: Select[Any],
    key: InstrumentedAttribute[Any],
    created: InstrumentedAttribute[Any],
    value: str,
    param: str,
) -> tuple[Any, str]:
    row = (
        await session.execute(scoped.with_only_columns(created, key).where(key == value))
    ).first()
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
) -> Page[Any]:
    """`after=X`: the `limit` items following X in the listing order. `before=X`: the
    `limit` items immediately preceding X (the previous page), still in listing order, with
    `has_more` saying whether more precede them. Both may be combined."""
    query = scoped
    pair = tuple_(created, key)
    forward = page.order == "asc"
    if page.after is not None:
        cursor = await _cursor(session, scoped, key, created, page.after, "after")
        query = query.where(pair > cursor if forward else pair < cursor)
    if page.before is not None:
        cursor = await _cursor(session, scoped, key, created, page.before, "before")
        query = query.where(pair < cursor if forward else pair > cursor)
    ascending = forward != (page.before is not None)
    ordering = (created.asc(), key.asc()) if ascending else (created.desc(), key.desc())
    rows = list((await session.execute(query.order_by(*ordering).limit(page.limit + 1))).scalars())
    items = rows[: page.limit]
    if page.before is not None:
        items.reverse()
    return Page(items=items, has_more=len(rows) > page.limit)
