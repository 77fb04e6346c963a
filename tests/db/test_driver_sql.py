"""Statements built once and sent as the driver's SQL give the rows SQLAlchemy would."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Integer, String, bindparam, cast, literal, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from maia_vectordb.db.driver_sql import compile_once, fetch_all

NAMED = {"word": "it's", "n": 3, "quoted": "O'Brien"}


def statement() -> Any:
    """A repeated named bind, constants (one the dialect processes), a literal bind."""
    word = bindparam("word", type_=String())
    n = bindparam("n", type_=Integer())
    quoted = bindparam("quoted", type_=String(), literal_execute=True)
    return select(word, n + literal(1), literal(False), quoted, word + literal("!"), n)


async def test_rows_match_sqlalchemys_own_execution(engine: AsyncEngine) -> None:
    built = statement()
    async with AsyncSession(engine) as session:
        expected = (await session.execute(built, NAMED)).all()
        found = await fetch_all(session, built, NAMED)
    assert [tuple(row) for row in found] == [tuple(row) for row in expected]
    assert tuple(found[0]) == ("it's", 4, False, "O'Brien", "it's!", 3)


def test_compiles_once_per_statement_and_writes_literals_quoted(engine: AsyncEngine) -> None:
    built = statement()
    compiled = compile_once(built, engine.dialect)
    assert compile_once(built, engine.dialect) is compiled
    sql, values = compiled.bind(NAMED)
    assert "'O''Brien'" in sql
    assert values.count("it's") == 1  # numbered once, used twice


async def test_a_failing_statement_fails_as_sqlalchemy_would(engine: AsyncEngine) -> None:
    """Replayed through SQLAlchemy: wrapped, classified, never the bare driver error."""
    bad = select(cast(bindparam("n", type_=String()), Integer))
    async with AsyncSession(engine) as session:
        with pytest.raises(DBAPIError) as caught:
            await fetch_all(session, bad, {"n": "not a number"})
    assert not caught.value.connection_invalidated
