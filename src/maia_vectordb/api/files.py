"""`/v1/files`: upload, list, read, download and delete files."""

from __future__ import annotations

import io
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.datastructures import FormData, UploadFile

from maia_vectordb.api.deps import (
    Cursor,
    FileID,
    HttpSettingsDep,
    ProjectDep,
    SessionDep,
    StateDep,
)
from maia_vectordb.api.responses import errors
from maia_vectordb.api.upload_form import (
    MAX_FIELDS,
    MAX_FILES,
    FilePart,
    SmallForm,
    is_small_multipart,
    read_small_form,
)
from maia_vectordb.db.pagination import Order, PageRequest
from maia_vectordb.errors import InvalidRequest, PayloadTooLarge
from maia_vectordb.schemas.common import ListPage, SafeStr, check_text
from maia_vectordb.schemas.files import FileDeleted, FileObject, UploadPurpose
from maia_vectordb.services import files as service

router = APIRouter(prefix="/v1/files", tags=["files"])

MULTIPART_OVERHEAD = 64 * 1024
PURPOSES = get_args(UploadPurpose)


Form = FormData | SmallForm
"""Starlette's form, or a small upload's parsed straight into bytes (`api/upload_form`)."""


def _form_upload(form: Form) -> service.Upload:
    upload = form.get("file")
    if isinstance(upload, UploadFile):
        name, stream = upload.filename, upload.file
    elif isinstance(upload, FilePart):
        name, stream = upload.filename, io.BytesIO(upload.data)
    else:
        raise InvalidRequest("Missing required parameter: 'file'.", param="file")
    purpose = form.get("purpose")
    if not isinstance(purpose, str) or not purpose:
        raise InvalidRequest("Missing required parameter: 'purpose'.", param="purpose")
    if purpose not in PURPOSES:
        raise InvalidRequest(
            f"Invalid value for 'purpose': {purpose!r}. Expected one of {', '.join(PURPOSES)}.",
            param="purpose",
        )
    return service.Upload(_filename(name), purpose, stream, _expires_after(form))


def _filename(name: str | None) -> str:
    """The name as sent, `filename*=` charset escapes included, must be storable text."""
    try:
        return check_text(name or "upload")
    except ValueError as exc:
        raise InvalidRequest(f"Invalid 'file' filename: {exc}", param="file") from None


def _expires_after(form: Form) -> int | None:
    anchor, seconds = form.get("expires_after[anchor]"), form.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return None
    if anchor != "created_at":
        raise InvalidRequest("expires_after[anchor] must be 'created_at'.", param="expires_after")
    try:
        value = int(str(seconds))
    except ValueError:
        value = -1
    if not 3600 <= value <= 2592000:
        raise InvalidRequest(
            "expires_after[seconds] must be between 3600 and 2592000.", param="expires_after"
        )
    return value


def _check_declared_size(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(f"File is larger than the {limit} byte limit", param="file")


@router.post(
    "",
    responses=errors(400, 413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file", "purpose"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "purpose": {"type": "string", "enum": list(PURPOSES)},
                        },
                    }
                }
            },
        }
    },
)
async def upload_file(
    request: Request, session: SessionDep, project: ProjectDep, settings: HttpSettingsDep
) -> FileObject:
    """Upload a file (multipart: `file`, `purpose`, optional `expires_after[...]`)."""
    limit = settings.max_upload_bytes
    _check_declared_size(request, limit)
    if is_small_multipart(request):
        upload = _form_upload(await read_small_form(request))
        return await service.upload(session, project_id=project, upload=upload, max_bytes=limit)
    async with request.form(max_files=MAX_FILES, max_fields=MAX_FIELDS) as form:
        upload = _form_upload(form)
        return await service.upload(session, project_id=project, upload=upload, max_bytes=limit)


@router.get("")
async def list_files(
    session: SessionDep,
    project: ProjectDep,
    purpose: Annotated[SafeStr | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 10000,
    order: Annotated[Order, Query()] = "desc",
    after: Cursor = None,
    before: Cursor = None,
) -> ListPage[FileObject]:
    """List files, newest first by default. `before` is an extension, as on the other
    lists: OpenAI's files list has only `after`."""
    page = PageRequest(limit=limit, order=order, after=after, before=before)
    return await service.list_files(session, project_id=project, page=page, purpose=purpose)


@router.get("/{file_id}", responses=errors(404))
async def retrieve_file(session: SessionDep, project: ProjectDep, file_id: FileID) -> FileObject:
    """Read one file's metadata."""
    return await service.get(session, project_id=project, file_id=file_id)


@router.delete("/{file_id}", responses=errors(404))
async def delete_file(session: SessionDep, project: ProjectDep, file_id: FileID) -> FileDeleted:
    """Delete a file, detaching it from every vector store."""
    return await service.delete_file(session, project_id=project, file_id=file_id)


@router.get(
    "/{file_id}/content",
    response_class=StreamingResponse,
    responses={**errors(404), 200: {"content": {"application/octet-stream": {}}}},
)
async def file_content(
    session: SessionDep, project: ProjectDep, file_id: FileID, state: StateDep
) -> Any:
    """Download the file's bytes exactly as uploaded."""
    found = await service.download(
        session, project_id=project, file_id=file_id, reader=state.sessionmaker
    )
    return StreamingResponse(
        found.parts,
        media_type="application/octet-stream",
        headers={"content-length": str(found.size)},
    )
