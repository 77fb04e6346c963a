"""Files: upload, read, list, delete. Deleting one detaches it from every store."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from maia_vectordb.db.models import File
from maia_vectordb.db.pagination import PageRequest
from maia_vectordb.db.queries import file_parts
from maia_vectordb.db.queries import files as queries
from maia_vectordb.errors import NotFound, PayloadTooLarge
from maia_vectordb.schemas.common import ListPage
from maia_vectordb.schemas.files import FileDeleted, FileObject
from maia_vectordb.services.ids import new_file_id
from maia_vectordb.services.timeutil import unix, unix_required, utcnow


@dataclass(frozen=True)
class Upload:
    filename: str
    purpose: str
    stream: BinaryIO
    expires_after_seconds: int | None = None


def to_wire(row: File) -> FileObject:
    return _wire(row.id, row.filename, row.purpose, row.bytes, row.created_at, row.expires_at)


def _wire(
    file_id: str,
    filename: str,
    purpose: str,
    size: int,
    created_at: datetime,
    expires_at: datetime | None,
) -> FileObject:
    """The one mapping to the wire, from a row or from a file just written."""
    return FileObject(
        id=file_id,
        bytes=size,
        created_at=unix_required(created_at),
        expires_at=unix(expires_at),
        filename=filename,
        purpose=purpose,
        status="processed",
    )


async def upload(
    session: AsyncSession, *, project_id: uuid.UUID, upload: Upload, max_bytes: int
) -> FileObject:
    """The row and its bytes written together (one statement for a file of one part):
    uploads of many small files are bound by this path."""
    now = utcnow()
    expires = (
        now + timedelta(seconds=upload.expires_after_seconds)
        if upload.expires_after_seconds
        else None
    )
    file = file_parts.NewFile(new_file_id(), upload.filename, upload.purpose, now, expires)
    try:
        size = await file_parts.write_upload(
            session, project_id=project_id, file=file, stream=upload.stream, limit=max_bytes
        )
    except file_parts.TooLarge:
        raise PayloadTooLarge(
            f"File is larger than the {max_bytes} byte limit", param="file"
        ) from None
    # Not an ORM row: building one costs more CPU than the rest of this function.
    return _wire(file.id, file.filename, file.purpose, size, now, expires)


async def purge_expired(session: AsyncSession) -> int:
    """Delete expired files with their parts, attachments and chunks (foreign keys cascade)."""
    return await queries.purge_expired(session)


async def get_row(session: AsyncSession, *, project_id: uuid.UUID, file_id: str) -> File:
    row = await queries.get(session, project_id=project_id, file_id=file_id)
    if row is None:
        raise NotFound(f"No such File object: {file_id}", param="file_id")
    return row


@dataclass(frozen=True)
class Download:
    size: int
    parts: AsyncIterator[bytes]


async def download(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    file_id: str,
    reader: async_sessionmaker[AsyncSession],
) -> Download:
    """The file's size now, and its bytes read part by part through `reader`'s own
    sessions as the response streams (the request's session ends before the body does)."""
    row = await get_row(session, project_id=project_id, file_id=file_id)
    return Download(size=row.bytes, parts=file_parts.stream_parts(reader, row.id))


async def get(session: AsyncSession, *, project_id: uuid.UUID, file_id: str) -> FileObject:
    return to_wire(await get_row(session, project_id=project_id, file_id=file_id))


async def list_files(
    session: AsyncSession, *, project_id: uuid.UUID, page: PageRequest, purpose: str | None
) -> ListPage[FileObject]:
    result = await queries.list_page(session, project_id=project_id, page=page, purpose=purpose)
    return ListPage[FileObject].of([to_wire(r) for r in result.items], has_more=result.has_more)


async def delete_file(session: AsyncSession, *, project_id: uuid.UUID, file_id: str) -> FileDeleted:
    """Attachments, chunks and parts go with it (foreign keys cascade in one statement)."""
    await get_row(session, project_id=project_id, file_id=file_id)
    await queries.delete(session, project_id=project_id, file_id=file_id)
    return FileDeleted(id=file_id)
