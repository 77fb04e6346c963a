"""`/v1/vector_stores`: create, list, read, modify and delete vector stores."""

from __future__ import annotations

from fastapi import APIRouter, Response

from maia_vectordb.api.deps import (
    PageDep,
    ProjectDep,
    SessionDep,
    StateDep,
    VectorStoreID,
    poll_hint,
)
from maia_vectordb.api.responses import errors
from maia_vectordb.schemas.common import ListPage
from maia_vectordb.schemas.vector_stores import (
    VectorStoreCreate,
    VectorStoreDeleted,
    VectorStoreObject,
    VectorStoreUpdate,
)
from maia_vectordb.services import vector_stores as service

router = APIRouter(prefix="/v1/vector_stores", tags=["vector stores"])


@router.post("", responses=errors(400, 404))
async def create_vector_store(
    body: VectorStoreCreate,
    session: SessionDep,
    project: ProjectDep,
    state: StateDep,
    response: Response,
) -> VectorStoreObject:
    """Create a vector store, optionally attaching files that then ingest in the background."""
    offered = state.embedders.offered
    store = await service.create(session, project_id=project, body=body, offered=offered)
    poll_hint(response, store.status)
    return store


@router.get("")
async def list_vector_stores(
    session: SessionDep, project: ProjectDep, page: PageDep
) -> ListPage[VectorStoreObject]:
    """List vector stores, newest first by default."""
    return await service.list_stores(session, project_id=project, page=page)


@router.get("/{vector_store_id}", responses=errors(404))
async def retrieve_vector_store(
    vector_store_id: VectorStoreID, session: SessionDep, project: ProjectDep, response: Response
) -> VectorStoreObject:
    """Read a vector store with its current file counts."""
    store = await service.get(session, project_id=project, vector_store_id=vector_store_id)
    poll_hint(response, store.status)
    return store


@router.post("/{vector_store_id}", responses=errors(400, 404))
async def modify_vector_store(
    vector_store_id: VectorStoreID,
    body: VectorStoreUpdate,
    session: SessionDep,
    project: ProjectDep,
) -> VectorStoreObject:
    """Change a store's name, expiry policy or metadata."""
    return await service.update(
        session, project_id=project, vector_store_id=vector_store_id, body=body
    )


@router.delete("/{vector_store_id}", responses=errors(404))
async def delete_vector_store(
    vector_store_id: VectorStoreID, session: SessionDep, project: ProjectDep
) -> VectorStoreDeleted:
    """Delete a store with its attachments and chunks; the files themselves stay."""
    return await service.delete_store(session, project_id=project, vector_store_id=vector_store_id)
