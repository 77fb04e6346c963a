"""`/v1/vector_stores/{id}/file_batches`: attach many files at once, follow and cancel."""

from __future__ import annotations

from fastapi import APIRouter, Response

from maia_vectordb.api.deps import (
    BatchID,
    PageDep,
    ProjectDep,
    SessionDep,
    VectorStoreID,
    poll_hint,
)
from maia_vectordb.api.responses import errors
from maia_vectordb.api.vector_store_files import StatusFilter
from maia_vectordb.schemas.common import ListPage
from maia_vectordb.schemas.vector_store_files import (
    FileBatchCreate,
    FileBatchObject,
    VectorStoreFileObject,
)
from maia_vectordb.services import file_batches as service
from maia_vectordb.services import vector_store_files

router = APIRouter(
    prefix="/v1/vector_stores/{vector_store_id}/file_batches", tags=["vector store file batches"]
)


@router.post("", responses=errors(400, 404))
async def create_file_batch(
    vector_store_id: VectorStoreID,
    body: FileBatchCreate,
    session: SessionDep,
    project: ProjectDep,
    response: Response,
) -> FileBatchObject:
    """Attach up to 500 files in one request (`file_ids` or per-file `files`)."""
    batch = await service.create(
        session, project_id=project, vector_store_id=vector_store_id, body=body
    )
    poll_hint(response, batch.status)
    return batch


@router.get("/{batch_id}", responses=errors(404))
async def retrieve_file_batch(
    vector_store_id: VectorStoreID,
    batch_id: BatchID,
    session: SessionDep,
    project: ProjectDep,
    response: Response,
) -> FileBatchObject:
    """Read a batch with its file counts."""
    batch = await service.get(
        session, project_id=project, vector_store_id=vector_store_id, batch_id=batch_id
    )
    poll_hint(response, batch.status)
    return batch


@router.post("/{batch_id}/cancel", responses=errors(404))
async def cancel_file_batch(
    vector_store_id: VectorStoreID, batch_id: BatchID, session: SessionDep, project: ProjectDep
) -> FileBatchObject:
    """Cancel a batch: files not yet ingested become `cancelled`."""
    return await service.cancel(
        session, project_id=project, vector_store_id=vector_store_id, batch_id=batch_id
    )


@router.get("/{batch_id}/files", responses=errors(404))
async def list_file_batch_files(
    vector_store_id: VectorStoreID,
    batch_id: BatchID,
    session: SessionDep,
    project: ProjectDep,
    page: PageDep,
    status: StatusFilter = None,
) -> ListPage[VectorStoreFileObject]:
    """List the files of one batch, optionally filtered by status."""
    await service.get_row(
        session, project_id=project, vector_store_id=vector_store_id, batch_id=batch_id
    )
    return await vector_store_files.list_files(
        session,
        project_id=project,
        vector_store_id=vector_store_id,
        page=page,
        status=status,
        batch_id=batch_id,
    )
