"""A download that loses its file mid-way stops short instead of pretending to be whole."""

from __future__ import annotations

from openai import AsyncOpenAI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from maia_vectordb.db.engine import connection_sessionmaker
from maia_vectordb.db.queries.file_parts import PART_BYTES, stream_parts


async def test_file_deleted_mid_download_ends_the_stream_early(
    sdk: AsyncOpenAI, connection: AsyncConnection
) -> None:
    data = bytes(range(256)) * (3 * PART_BYTES // 256)
    made = await sdk.files.create(file=("three-parts.bin", data), purpose="assistants")
    parts = stream_parts(connection_sessionmaker(connection), made.id)
    received = [await anext(parts)]
    await connection.execute(text("DELETE FROM files WHERE id = :f"), {"f": made.id})
    received += [part async for part in parts]
    assert b"".join(received) == data[:PART_BYTES]
