"""Files: upload, read, list, delete. Deleting one detaches it from every store."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO

from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.db import files as file_parts
from maia_vectordb.db.liveness import is_live
from maia_vectordb.db.models import File
from maia_vectordb.db.pagination import PageRequest, paginate
from maia_vectordb.errors import NotFound, PayloadTooLarge
from maia_vectordb.schemas.common import ListPage
from maia_vectordb.schemas.files import FileDeleted, FileObject
from maia_vectordb.services.ids import new_file_id
from maia_vectordb.services.projects import owned
from maia_vectordb.services.timeutil import unix, unix_required, utcnow


@dataclass(frozen=True)
class Upload:
    filename: str
    purpose: str
    stream: BinaryIO
    expires_after_seconds: int | None = None


def to_wire(row: File) -> FileObject:
    return FileObject(
        id=row.id,
        bytes=row.bytes,
        created_at=unix_required(row.created_at),
        expires_at=unix(row.expires_at),
        filename=row.filename,
        purpose=row.purpose,
        status="processed",
    )


async def upload(
    session: AsyncSession, *, project_id: uuid.UUID, upload: Upload, max_bytes: int
) -> FileObject:
    now = utcnow()
    expires = (
        now + timedelta(seconds=upload.expires_after_seconds)
        if upload.expires_after_seconds
        else None
    )
    row = File(
        id=new_file_id(),
        project_id=project_id,
        filename=upload.filename,
        purpose=upload.purpose,
        created_at=now,
        expires_at=expires,
    )
    session.add(row)
    await session.flush()
    try:
        row.bytes, row.sha256 = await file_parts.write_parts(
            session, row.id, upload.stream, limit=max_bytes
        )
    except file_parts.TooLarge:
        raise PayloadTooLarge(
            f"File is larger than the {max_bytes} byte limit", param="file"
        ) from None
    await session.flush()
    return to_wire(row)


async def purge_expired(session: AsyncSession) -> int:
    """Delete expired files with their parts, attachments and chunks (foreign keys cascade)."""
    result = await session.execute(
        delete(File).where(File.expires_at.is_not(None), File.expires_at <= func.now())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def get_row(session: AsyncSession, *, project_id: uuid.UUID, file_id: str) -> File:
    query = owned(File, project_id).where(File.id == file_id, is_live())
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No such File object: {file_id}", param="file_id")
    return row


async def get(session: AsyncSession, *, project_id: uuid.UUID, file_id: str) -> FileObject:
    return to_wire(await get_row(session, project_id=project_id, file_id=file_id))


async def list_files(
    session: AsyncSession, *, project_id: uuid.UUID, page: PageRequest, purpose: str | None
) -> ListPage[FileObject]:
    query = owned(File, project_id).where(is_live())
    if purpose is not None:
        query = query.where(File.purpose == purpose)
    result = await paginate(session, query, key=File.id, created=File.created_at, page=page)
    return ListPage[FileObject].of([to_wire(r) for r in result.items], has_more=result.has_more)


async def delete_file(session: AsyncSession, *, project_id: uuid.UUID, file_id: str) -> FileDeleted:
    """Attachments, chunks and parts go with it (foreign keys cascade in one statement)."""
    await get_row(session, project_id=project_id, file_id=file_id)
    await session.execute(delete(File).where(File.id == file_id, File.project_id == project_id))
    return FileDeleted(id=file_id)
