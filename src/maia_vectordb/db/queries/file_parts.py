"""File bytes in PostgreSQL: written and read in parts, never whole in memory."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import BinaryIO

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from maia_vectordb.db.models import FilePart

PART_BYTES = 1024 * 1024


class TooLarge(Exception):
    """The stream passed the configured size limit."""


async def write_parts(
    session: AsyncSession, file_id: str, stream: BinaryIO, *, limit: int
) -> tuple[int, str]:
    """Copy a (spooled) upload into `file_parts`; returns its size and sha256."""
    digest = hashlib.sha256()
    total = 0
    seq = 0
    while data := stream.read(PART_BYTES):
        total += len(data)
        if total > limit:
            raise TooLarge
        digest.update(data)
        await session.execute(insert(FilePart).values(file_id=file_id, seq=seq, data=data))
        seq += 1
    return total, digest.hexdigest()


async def read_all(session: AsyncSession, file_id: str) -> bytes:
    query = select(FilePart.data).where(FilePart.file_id == file_id).order_by(FilePart.seq)
    return b"".join((await session.execute(query)).scalars())


async def read_many(session: AsyncSession, file_ids: list[str]) -> dict[str, bytes]:
    """Several files' bytes in one query (for a batch of small files)."""
    query = (
        select(FilePart.file_id, FilePart.data)
        .where(FilePart.file_id.in_(file_ids))
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
