"""Dependency aliases: the one vocabulary handlers use to ask for shared things."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.api.guard import PROJECT_SCOPE_KEY
from maia_vectordb.config import HttpSettings
from maia_vectordb.db.driver_sql import Runner
from maia_vectordb.db.pagination import Order, PageRequest
from maia_vectordb.errors import Unauthenticated
from maia_vectordb.schemas.common import SafeStr
from maia_vectordb.state import AppState


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.maia
    return state


async def get_state(request: Request) -> AppState:
    return state_of(request)


StateDep = Annotated[AppState, Depends(get_state)]


async def get_http_settings(request: Request) -> HttpSettings:
    return state_of(request).settings.http


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The unit of work: commit when the handler returns, before the response is sent.

    The state is read here, not asked for as `StateDep`: a sub-dependency costs FastAPI
    a solve on every request of every route that takes a session."""
    async with state_of(request).sessionmaker() as session, session.begin():
        yield session


HttpSettingsDep = Annotated[HttpSettings, Depends(get_http_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


@dataclass(frozen=True)
class SearchSessions:
    reader: Runner
    """Search's own autocommit pool (a replica's when SEARCH_DATABASE_URL is set), one
    pooled connection held without a session: no transaction to open or commit, so no
    round trips beyond the statements, and no unit of work to build and close."""
    writer: Runner
    """The primary, for the one write a search may make (`last_active_at`, at most once a
    minute): `reader` itself when that pool is the primary's."""


@asynccontextmanager
async def search_sessions(state: AppState) -> AsyncIterator[SearchSessions]:
    """A search's connection, and where its write goes. Without a replica the search pool
    is the primary's, in autocommit: the write runs on the same connection and commits as
    it runs (one round trip, nothing else to open or close). With a replica it goes to a
    session on the primary whose transaction begins only if it writes (most searches do
    not) and commits on leaving, before the response."""
    engine = state.search_engine
    if engine is None:  # every session rides one connection: search like any request
        async with state.sessionmaker() as session:
            yield SearchSessions(session, session)
            if session.in_transaction():
                await session.commit()
        return
    async with engine.connect() as reader:
        if state.settings.database.search_url is None:
            yield SearchSessions(reader, reader)
            return
        async with state.sessionmaker() as writer:
            yield SearchSessions(reader, writer)
            if writer.in_transaction():
                await writer.commit()


async def get_search_sessions(request: Request) -> AsyncIterator[SearchSessions]:
    """`search_sessions` as a dependency, for the route's declared signature."""
    async with search_sessions(state_of(request)) as sessions:
        yield sessions


SearchSessionsDep = Annotated[SearchSessions, Depends(get_search_sessions, scope="function")]


async def get_project(request: Request) -> uuid.UUID:
    """The caller's project, as `GuardMiddleware` admitted it (from its key, or the
    default project in open mode) before the body was read."""
    project = request.scope.get("state", {}).get(PROJECT_SCOPE_KEY)
    if not isinstance(project, uuid.UUID):
        raise Unauthenticated("You didn't provide an API key.", code="missing_api_key")
    return project


ProjectDep = Annotated[uuid.UUID, Depends(get_project)]

PathID = Annotated[SafeStr, Path(min_length=1, max_length=64)]
"""Ids in paths reach PostgreSQL as text: NUL and lone surrogates are a 400, not a 500."""
VectorStoreID = PathID
FileID = PathID
BatchID = PathID
Cursor = Annotated[SafeStr | None, Query(max_length=64)]
"""`after` / `before`: the id of an object in the list being paged."""


async def page_request(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Annotated[Order, Query()] = "desc",
    after: Cursor = None,
    before: Cursor = None,
) -> PageRequest:
    return PageRequest(limit=limit, order=order, after=after, before=before)


PageDep = Annotated[PageRequest, Depends(page_request)]

POLL_AFTER_MS = "250"


def poll_hint(response: Response, status: str) -> None:
    """The SDK's `*_and_poll` helpers wait this long between polls while work is pending."""
    if status == "in_progress":
        response.headers["openai-poll-after-ms"] = POLL_AFTER_MS
