"""A one-part upload is one statement that commits as it returns, or fails as a whole
with the error SQLAlchemy would raise."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from maia_vectordb.db.models import DEFAULT_PROJECT_ID, File, FilePart
from maia_vectordb.db.queries.file_parts import NewFile, write_upload

DATA = b"one small file\n"


def new_file(file_id: str = "file-parts-test") -> NewFile:
    return NewFile(file_id, "small.txt", "assistants", datetime.now(UTC), None)


async def write(session: AsyncSession, file: NewFile) -> int:
    stream = io.BytesIO(DATA)
    return await write_upload(
        session, project_id=DEFAULT_PROJECT_ID, file=file, stream=stream, limit=1024
    )


async def stored(engine: AsyncEngine, file_id: str) -> tuple[int, bytes | None]:
    async with AsyncSession(engine) as session:
        rows = await session.scalar(select(func.count()).where(File.id == file_id))
        data = await session.scalar(select(FilePart.data).where(FilePart.file_id == file_id))
    return rows or 0, data


async def test_a_one_part_write_is_committed_when_it_returns(engine: AsyncEngine) -> None:
    """What the upload answers as created exists, whatever its session does after."""
    async with AsyncSession(engine) as session, session.begin():
        assert await write(session, new_file()) == len(DATA)
        await session.rollback()
    assert await stored(engine, "file-parts-test") == (1, DATA)


async def test_a_failed_write_raises_sqlalchemys_error_and_stores_nothing(
    engine: AsyncEngine,
) -> None:
    """Replayed through SQLAlchemy: its wrapped error (the API's envelope is built from
    it), never the driver's own, and the session goes on to roll back cleanly."""
    taken = new_file("file-taken")
    async with AsyncSession(engine) as session, session.begin():
        await write(session, taken)
    clash = NewFile(taken.id, "other.txt", "assistants", datetime.now(UTC), None)
    async with AsyncSession(engine) as session:
        with pytest.raises(IntegrityError) as caught:
            await write(session, clash)
        assert not caught.value.connection_invalidated
        await session.rollback()
    async with AsyncSession(engine) as session:
        filename = await session.scalar(select(File.filename).where(File.id == taken.id))
    assert filename == "small.txt"


async def test_after_another_statement_it_joins_the_sessions_transaction(
    engine: AsyncEngine,
) -> None:
    """A session that has written before is one unit of work: it rolls back as one."""
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(select(func.count()).select_from(File))
        await write(session, new_file())
        await session.rollback()
    assert await stored(engine, "file-parts-test") == (0, None)
