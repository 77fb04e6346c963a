"""`POST /v1/vector_stores/{id}/search`: vector, keyword or hybrid retrieval."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from maia_vectordb.api.deps import (
    ProjectDep,
    SearchSessionsDep,
    StateDep,
    VectorStoreID,
    get_project,
    search_sessions,
    state_of,
)
from maia_vectordb.api.json_body import read_body, validate_into
from maia_vectordb.api.responses import errors
from maia_vectordb.schemas.search import SearchPage, SearchRequest
from maia_vectordb.services import search as service

_STORE_ID: TypeAdapter[str] = TypeAdapter(VectorStoreID)
_BODY: TypeAdapter[SearchRequest] = TypeAdapter(SearchRequest)


class SearchRoute(APIRoute):
    """The declared route (its OpenAPI operation, from the handler's signature) served
    without FastAPI's per-request dependency solving: the hottest route's inputs are
    always the same five, so they are read here in that order, with FastAPI's own
    errors (`api/json_body.py`), and the page is serialised straight to JSON bytes."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        # Built while the handler is being decorated, so it is known by name here; any
        # other route on this router is served FastAPI's own way.
        if getattr(self.endpoint, "__name__", "") != "search_vector_store":
            return super().get_route_handler()
        return _serve


async def _serve(request: Request) -> Response:
    """`search_vector_store`'s inputs read in FastAPI's order (body, then the caller,
    then validation of path and body together), the handler run in its sessions."""
    body = await read_body(request)
    project = await get_project(request)
    problems: list[Any] = []
    store_id = validate_into(
        _STORE_ID, request.path_params["vector_store_id"], ("path", "vector_store_id"), problems
    )
    search = validate_into(_BODY, body, ("body",), problems)
    if store_id is None or search is None:
        raise RequestValidationError(problems, body=body)
    state = state_of(request)
    async with search_sessions(state) as sessions:
        page = await search_vector_store(store_id, search, sessions, project, state)
    return Response(page.model_dump_json(by_alias=True), media_type="application/json")


router = APIRouter(prefix="/v1/vector_stores", tags=["search"], route_class=SearchRoute)


@router.post("/{vector_store_id}/search", responses=errors(400, 404))
async def search_vector_store(
    vector_store_id: VectorStoreID,
    body: SearchRequest,
    sessions: SearchSessionsDep,
    project: ProjectDep,
    state: StateDep,
) -> SearchPage:
    """Find the chunks most relevant to `query`, optionally filtered by file attributes."""
    return await service.search(
        sessions.reader,
        writer=sessions.writer,
        project_id=project,
        vector_store_id=vector_store_id,
        body=body,
        embedders=state.embedders,
        settings=state.settings.search,
        metrics=state.metrics,
    )
