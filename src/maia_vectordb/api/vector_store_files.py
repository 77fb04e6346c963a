"""`/v1/vector_stores/{id}/files`: attach, list, read, relabel, detach, read parsed text."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from maia_vectordb.api.deps import (
    FileID,
    PageDep,
    ProjectDep,
    SessionDep,
    VectorStoreID,
    poll_hint,
)
from maia_vectordb.api.responses import errors
from maia_vectordb.schemas.common import ListPage
from maia_vectordb.schemas.vector_store_files import (
    FileContentPage,
    FileStatus,
    VectorStoreFileCreate,
    VectorStoreFileDeleted,
    VectorStoreFileObject,
    VectorStoreFileUpdate,
)
from maia_vectordb.services import file_content
from maia_vectordb.services import vector_store_files as service

router = APIRouter(prefix="/v1/vector_stores/{vector_store_id}/files", tags=["vector store files"])

StatusFilter = Annotated[FileStatus | None, Query(alias="filter")]


@router.post("", responses=errors(400, 404))
async def create_vector_store_file(
    vector_store_id: VectorStoreID,
    body: VectorStoreFileCreate,
    session: SessionDep,
    project: ProjectDep,
    response: Response,
) -> VectorStoreFileObject:
    """Attach a file; it is parsed, chunked and embedded in the background."""
    item = await service.create(
        session, project_id=project, vector_store_id=vector_store_id, body=body
    )
    poll_hint(response, item.status)
    return item


@router.get("", responses=errors(404))
async def list_vector_store_files(
    vector_store_id: VectorStoreID,
    session: SessionDep,
    project: ProjectDep,
    page: PageDep,
    status: StatusFilter = None,
) -> ListPage[VectorStoreFileObject]:
    """List a store's files, optionally only those with one status (`filter`)."""
    return await service.list_files(
        session, project_id=project, vector_store_id=vector_store_id, page=page, status=status
    )


@router.get("/{file_id}", responses=errors(404))
async def retrieve_vector_store_file(
    vector_store_id: VectorStoreID,
    file_id: FileID,
    session: SessionDep,
    project: ProjectDep,
    response: Response,
) -> VectorStoreFileObject:
    """Read one attachment: its status, usage and last error."""
    item = await service.get(
        session, project_id=project, vector_store_id=vector_store_id, file_id=file_id
    )
    poll_hint(response, item.status)
    return item


@router.post("/{file_id}", responses=errors(400, 404))
async def update_vector_store_file(
    vector_store_id: VectorStoreID,
    file_id: FileID,
    body: VectorStoreFileUpdate,
    session: SessionDep,
    project: ProjectDep,
) -> VectorStoreFileObject:
    """Replace the attachment's attributes (used by search filters)."""
    return await service.update_attributes(
        session, project_id=project, vector_store_id=vector_store_id, file_id=file_id, body=body
    )


@router.delete("/{file_id}", responses=errors(404))
async def delete_vector_store_file(
    vector_store_id: VectorStoreID, file_id: FileID, session: SessionDep, project: ProjectDep
) -> VectorStoreFileDeleted:
    """Detach a file from the store; the file itself is kept."""
    return await service.detach(
        session, project_id=project, vector_store_id=vector_store_id, file_id=file_id
    )


ContentCursor = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{1,9}$",  # PostgreSQL text holds at most 1 GB
        description="Extension: the `next_page` of the previous page, to read the one after.",
    ),
]


@router.get("/{file_id}/content", responses=errors(400, 404))
async def vector_store_file_content(
    vector_store_id: VectorStoreID,
    file_id: FileID,
    session: SessionDep,
    project: ProjectDep,
    page: ContentCursor = None,
) -> FileContentPage:
    """The text parsed from the file, a page at a time (empty until ingestion completes)."""
    return await file_content.content_page(
        session,
        project_id=project,
        vector_store_id=vector_store_id,
        file_id=file_id,
        start=int(page or 0),
    )
