"""Rows for database-level tests, written the way the service's own writes leave them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

PROJECT = "00000000-0000-0000-0000-000000000001"


async def add_store(session: AsyncSession, store: str, dims: int) -> None:
    await session.execute(
        text(
            "INSERT INTO vector_stores (id, project_id, embedding_provider, "
            "embedding_model, embedding_dimensions) "
            "VALUES (:s, CAST(:p AS uuid), 'hash', 'hash', :d)"
        ),
        {"s": store, "p": PROJECT, "d": dims},
    )


async def attach_file(
    session: AsyncSession, store: str, file_id: str, attributes: dict[str, Any] | None
) -> None:
    """A completed attachment; its chunks must carry the same `attributes`."""
    await session.execute(
        text(
            "INSERT INTO files (id, project_id, filename, purpose) "
            "VALUES (:f, CAST(:p AS uuid), 'x.txt', 'assistants')"
        ),
        {"f": file_id, "p": PROJECT},
    )
    await session.execute(
        text(
            "INSERT INTO vector_store_files (vector_store_id, file_id, project_id, status, "
            "chunking_strategy, attributes) VALUES (:s, :f, CAST(:p AS uuid), 'completed', "
            "'{}'::jsonb, CAST(:a AS jsonb))"
        ),
        {"s": store, "f": file_id, "p": PROJECT, "a": json.dumps(attributes)},
    )
