"""Chunk rows: written with COPY in one round trip per file, never row by row."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.db.models import FileChunk

COLUMNS = (
    "vector_store_id",
    "file_id",
    "chunk_index",
    "text",
    "token_count",
    "attributes",
    "embedding",
)


@dataclass(frozen=True)
class ChunkRow:
    index: int
    text: str
    token_count: int
    embedding: list[float]


async def replace_chunks(
    session: AsyncSession,
    *,
    vector_store_id: str,
    file_id: str,
    attributes: dict[str, Any] | None,
    chunks: Sequence[ChunkRow],
) -> None:
    """Delete-then-COPY in the caller's transaction, so a re-run after a crash is harmless."""
    await session.execute(
        delete(FileChunk).where(
            FileChunk.vector_store_id == vector_store_id, FileChunk.file_id == file_id
        )
    )
    if not chunks:
        return
    attrs = json.dumps(attributes) if attributes is not None else None
    records = [
        (vector_store_id, file_id, c.index, c.text, c.token_count, attrs, c.embedding)
        for c in chunks
    ]
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table("file_chunks", records=records, columns=COLUMNS)
