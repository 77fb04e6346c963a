"""A filtered search's statement is built once per filter shape: every other filter of
that shape binds its own keys and values into it and gets exactly its own matches.

The oracle is the filter evaluated in Python over the chunks' attributes (OpenAI's
semantics: type-aware comparisons, a missing key never matches), not another SQL path.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from maia_vectordb.config import Settings
from maia_vectordb.db import search as queries
from maia_vectordb.db import search_statements
from maia_vectordb.db.engine import build_engine
from maia_vectordb.db.queries.chunks import ChunkRow, replace_chunks
from maia_vectordb.db.search_statements import FilterKey, LegShape
from maia_vectordb.schemas.filters import CompoundFilter, Filter
from maia_vectordb.schemas.search import ComparisonFilter
from tests.db.seed import add_store, attach_file

STORE = "vs_filter_shapes"
DIMS = 8
FILES = 12
CHUNKS_PER_FILE = 3
EVERYTHING = 100
TEAMS = ("a", "b", "c")
NOTES = ("plain", "it's", 'back\\slash "quoted"', "ünï ✓")


def _attributes(number: int) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "team": TEAMS[number % 3],
        "year": 2020 + number % 4,
        "draft": number % 2 == 0,
        "note": NOTES[number % len(NOTES)],
    }
    if number % 5:
        attributes["score"] = number * 0.5
    return attributes


def _filter(raw: dict[str, Any]) -> Filter:
    if raw["type"] in ("and", "or"):
        return CompoundFilter.model_validate(raw)
    return ComparisonFilter.model_validate(raw)


def _eq(key: str, value: Any) -> dict[str, Any]:
    return {"type": "eq", "key": key, "value": value}


# Pairs of filters of one shape: the statement is built for the first and run for both.
PAIRS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (_eq("note", NOTES[1]), _eq("note", NOTES[2])),
    (
        {"type": "in", "key": "note", "value": [NOTES[3], "absent"]},
        {"type": "in", "key": "note", "value": [NOTES[1], NOTES[2]]},
    ),
    (_eq("team", "a"), _eq("year", 2021)),
    (_eq("draft", True), _eq("score", 3.5)),
    ({"type": "ne", "key": "team", "value": "b"}, {"type": "ne", "key": "score", "value": 1}),
    ({"type": "gte", "key": "year", "value": 2022}, {"type": "gte", "key": "score", "value": 3}),
    (
        {"type": "in", "key": "team", "value": ["a", "c"]},
        {"type": "in", "key": "year", "value": [2020, 2023.0]},
    ),
    ({"type": "nin", "key": "team", "value": ["a"]}, {"type": "nin", "key": "score", "value": [5]}),
    (
        {
            "type": "and",
            "filters": [_eq("team", "a"), {"type": "gt", "key": "year", "value": 2020}],
        },
        {
            "type": "and",
            "filters": [_eq("draft", False), {"type": "gt", "key": "score", "value": 2}],
        },
    ),
    (
        {"type": "or", "filters": [_eq("team", "b"), _eq("draft", True)]},
        {"type": "or", "filters": [_eq("year", 2023), _eq("team", "c")]},
    ),
    (
        {
            "type": "and",
            "filters": [
                {
                    "type": "or",
                    "filters": [{"type": "in", "key": "team", "value": ["a"]}, _eq("year", 2021)],
                },
                {"type": "ne", "key": "draft", "value": True},
            ],
        },
        {
            "type": "and",
            "filters": [
                {
                    "type": "or",
                    "filters": [
                        {"type": "in", "key": "note", "value": [NOTES[2]]},
                        _eq("score", 1),
                    ],
                },
                {"type": "ne", "key": "year", "value": 2021},
            ],
        },
    ),
    (
        {
            "type": "and",
            "filters": [
                {"type": "in", "key": "team", "value": ["a", "b"]},
                _eq("draft", False),
                {
                    "type": "or",
                    "filters": [_eq("year", 2021), {"type": "gt", "key": "score", "value": 4}],
                },
            ],
        },
        {
            "type": "and",
            "filters": [
                {"type": "in", "key": "year", "value": [2020, 2022]},
                _eq("team", "c"),
                {
                    "type": "or",
                    "filters": [_eq("draft", True), {"type": "gt", "key": "year", "value": 2030}],
                },
            ],
        },
    ),
]


def _matches(node: dict[str, Any], attributes: dict[str, Any]) -> bool:
    kind = node["type"]
    if kind in ("and", "or"):
        results = [_matches(child, attributes) for child in node["filters"]]
        return all(results) if kind == "and" else any(results)
    if node["key"] not in attributes:
        return False
    have, want = attributes[node["key"]], node["value"]
    if kind in ("in", "nin"):
        member = any(_same(have, value) and have == value for value in want)
        return member if kind == "in" else not member
    if not _same(have, want):
        return False
    comparisons = {
        "eq": have == want,
        "ne": have != want,
        "gt": have > want,
        "gte": have >= want,
        "lt": have < want,
        "lte": have <= want,
    }
    return comparisons[kind]


def _same(a: Any, b: Any) -> bool:
    """JSON types: a boolean is never a number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    return isinstance(a, str) == isinstance(b, str)


async def _load(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[int, dict[str, Any]]:
    """Chunk id -> its attributes."""
    rng = random.Random(3)
    async with sessionmaker() as session, session.begin():
        await add_store(session, STORE, DIMS)
        for number in range(FILES):
            file_id, attributes = f"file-shapes-{number}", _attributes(number)
            await attach_file(session, STORE, file_id, attributes)
            rows = [
                ChunkRow(i, f"alpha chunk {number} {i}", 4, [rng.gauss(0, 1) for _ in range(DIMS)])
                for i in range(CHUNKS_PER_FILE)
            ]
            await replace_chunks(
                session, vector_store_id=STORE, file_id=file_id, attributes=attributes, chunks=rows
            )
        found = await session.execute(
            text("SELECT id, attributes FROM file_chunks WHERE vector_store_id = :s"), {"s": STORE}
        )
        return {row[0]: row[1] for row in found}


@pytest.fixture
async def db(engine: AsyncEngine, migrated_url: str) -> AsyncIterator[AsyncEngine]:
    """The service's own engine (its vector codecs); `engine` cleans the tables after."""
    settings = Settings(DATABASE_URL=migrated_url, _env_file=None)  # type: ignore[call-arg]
    service_engine = build_engine(settings.database, migrated_url)
    yield service_engine
    await service_engine.dispose()


@pytest.fixture
async def chunks(db: AsyncEngine) -> dict[int, dict[str, Any]]:
    return await _load(async_sessionmaker(db))


async def _search(
    engine: AsyncEngine, shapes: tuple[LegShape, ...], raw: dict[str, Any] | None
) -> list[dict[int, float]]:
    """Each leg's hits as chunk id -> score; `raw` None is the unfiltered statement."""
    node = None if raw is None else _filter(raw)
    statement = (
        search_statements.unfiltered(shapes)
        if node is None
        else search_statements.filtered(shapes, FilterKey.of(node))
    )
    values: list[list[float] | str] = [
        [1.0] * DIMS if shape.kind == "vector" else "alpha" for shape in shapes
    ]
    named = search_statements.parameters(
        vector_store_id=STORE, limit=EVERYTHING, values=values, filters=node
    )
    async with async_sessionmaker(engine)() as session:
        found = await queries.fetch_statement(session, statement, len(shapes), named)
    return [{hit.chunk_id: hit.score for hit in hits} for hits in found]


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize(("first", "second"), PAIRS)
async def test_one_statement_per_shape_finds_each_filters_own_matches(
    db: AsyncEngine,
    chunks: dict[int, dict[str, Any]],
    first: dict[str, Any],
    second: dict[str, Any],
    exact: bool,
) -> None:
    """`exact=False` builds the indexed form (the store has no index, so PostgreSQL
    walks nothing and checks every row: the filter's binding is what is under test)."""
    shapes = (LegShape("vector", exact, DIMS), LegShape("keyword"))
    built = search_statements.filtered(shapes, FilterKey.of(_filter(first)))
    assert search_statements.filtered(shapes, FilterKey.of(_filter(second))) is built
    unfiltered = await _search(db, shapes, None)
    for raw in (first, second):
        expected = {chunk for chunk, attributes in chunks.items() if _matches(raw, attributes)}
        assert expected, f"{raw} should match something here"
        assert len(expected) < len(chunks), f"{raw} should not match everything here"
        found = await _search(db, shapes, raw)
        assert [set(leg) for leg in found] == [expected, expected], raw
        for leg, scores in zip(unfiltered, found, strict=True):  # a filter changes no score
            assert scores == pytest.approx({chunk: leg[chunk] for chunk in expected}), raw
