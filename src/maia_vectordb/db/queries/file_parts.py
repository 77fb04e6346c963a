"""File bytes in PostgreSQL: written and read in parts, never whole in memory."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from maia_vectordb.db import driver_sql
from maia_vectordb.db.models import File, FilePart
from maia_vectordb.db.queries.bulk import is_any

PART_BYTES = 1024 * 1024

# A file of one part (nearly every upload) is its row and its bytes in one statement:
# one round trip, and no second pass over the row to record its size. It is a unit of
# work by itself, so it runs alone (`driver_sql.run_alone`): no BEGIN or COMMIT either.
_ONE_PART = text(
    """
    WITH f AS (
        INSERT INTO files (id, project_id, filename, purpose, bytes, sha256, created_at,
                           expires_at)
        VALUES (:id, :project_id, :filename, :purpose, :bytes, :sha256, :created_at,
                :expires_at)
    )
    INSERT INTO file_parts (file_id, seq, data) VALUES (:id, 0, :data)
    """
)


class TooLarge(Exception):
    """The stream passed the configured size limit."""


@dataclass(frozen=True)
class NewFile:
    """A file row about to be written with its bytes."""

    id: str
    filename: str
    purpose: str
    created_at: datetime
    expires_at: datetime | None


async def write_upload(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    file: NewFile,
    stream: BinaryIO,
    limit: int,
) -> int:
    """The file's row and its (spooled) bytes; returns its size.

    One part: both in one statement, committed as it returns when it is the session's
    first. None: the row alone. More: the row, each part as it is read (so at most two
    parts are in memory), then its size and digest."""
    first = _read_part(stream, 0, limit)
    second = _read_part(stream, len(first), limit) if len(first) == PART_BYTES else b""
    digest = hashlib.sha256(first)
    if first and not second:
        row = {"project_id": project_id, "bytes": len(first), "sha256": digest.hexdigest()}
        await driver_sql.run_alone(session, _ONE_PART, _row(file) | row | {"data": first})
        return len(first)
    row = {"project_id": project_id, "sha256": digest.hexdigest()}
    await session.execute(insert(File).values(_row(file) | row))
    if not first:
        return 0
    await _insert_part(session, file.id, 0, first)
    total, seq, data = len(first), 1, second
    while data:
        digest.update(data)
        await _insert_part(session, file.id, seq, data)
        total += len(data)
        seq += 1
        data = _read_part(stream, total, limit)
    await session.execute(
        update(File).where(File.id == file.id).values(bytes=total, sha256=digest.hexdigest())
    )
    return total


def _row(file: NewFile) -> dict[str, Any]:
    return {
        "id": file.id,
        "filename": file.filename,
        "purpose": file.purpose,
        "created_at": file.created_at,
        "expires_at": file.expires_at,
    }


def _read_part(stream: BinaryIO, before: int, limit: int) -> bytes:
    """The next part; `before` bytes came earlier, and all of them may not pass `limit`."""
    data = stream.read(PART_BYTES)
    if before + len(data) > limit:
        raise TooLarge
    return data


async def _insert_part(session: AsyncSession, file_id: str, seq: int, data: bytes) -> None:
    await session.execute(insert(FilePart).values(file_id=file_id, seq=seq, data=data))


async def read_all(session: AsyncSession, file_id: str) -> bytes:
    query = select(FilePart.data).where(FilePart.file_id == file_id).order_by(FilePart.seq)
    return b"".join((await session.execute(query)).scalars())


async def read_many(session: AsyncSession, file_ids: list[str]) -> dict[str, bytes]:
    """Several files' bytes in one query (for a batch of small files)."""
    query = (
        select(FilePart.file_id, FilePart.data)
        .where(is_any(FilePart.file_id, file_ids))
        .order_by(FilePart.file_id, FilePart.seq)
    )
    parts: dict[str, list[bytes]] = {file_id: [] for file_id in file_ids}
    for file_id, data in await session.execute(query):
        parts[file_id].append(data)
    return {file_id: b"".join(chunks) for file_id, chunks in parts.items()}


async def stream_parts(
    sessionmaker: async_sessionmaker[AsyncSession], file_id: str
) -> AsyncIterator[bytes]:
    """One short query per part, so a slow reader holds no transaction open.

    There is no snapshot across parts: a file deleted mid-download ends the
    stream at the first part that is gone, short of the declared length, so the
    client sees an incomplete body rather than a file that looks whole.
    """
    async with sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(FilePart).where(FilePart.file_id == file_id)
        )
    for seq in range(count or 0):
        async with sessionmaker() as session:
            data = await session.scalar(
                select(FilePart.data).where(FilePart.file_id == file_id, FilePart.seq == seq)
            )
        if data is None:
            return
        yield data
