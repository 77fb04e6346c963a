"""`POST /v1/vector_stores/{id}/search`: vector, keyword or hybrid retrieval."""

from __future__ import annotations

from fastapi import APIRouter

from maia_vectordb.api.deps import ProjectDep, SearchSessionsDep, StateDep, VectorStoreID
from maia_vectordb.api.responses import errors
from maia_vectordb.schemas.search import SearchPage, SearchRequest
from maia_vectordb.services import search as service

router = APIRouter(prefix="/v1/vector_stores", tags=["search"])


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
