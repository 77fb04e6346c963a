"""Vector search stays correct: a store's own index path matches an exact scan.

A separate 64-dimensional database keeps HNSW builds fast; the behaviour under test
(per-store indexes, iterative scans under attribute filters) does not depend on the
width. The index builder runs once the data is loaded, as it does after ingestion.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import and_, column, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from maia_vectordb.config import Settings
from maia_vectordb.db import search as queries
from maia_vectordb.db.engine import build_engine
from maia_vectordb.db.filtered_search import filtered_vector_candidates, matching
from maia_vectordb.db.filters import Names, compile_filter, containment, containment_parameters
from maia_vectordb.db.liveness import file_is_live
from maia_vectordb.db.migrate import upgrade_head
from maia_vectordb.db.models import FileChunk
from maia_vectordb.db.queries.chunks import ChunkRow, replace_chunks
from maia_vectordb.embeddings.spec import ModelSpec
from maia_vectordb.ingest.indexer import IndexBuilder
from maia_vectordb.schemas.filters import CompoundFilter, Filter
from maia_vectordb.schemas.search import ComparisonFilter, SearchRequest
from maia_vectordb.services.search import Plan
from tests.db.seed import PROJECT, add_store, attach_file

DIMS = 64
K = 10
QUERIES = 20
STORES = {"vs_big": 6000, "vs_small": 200, "vs_sharded": 3000}
TUNING = queries.IndexTuning(ef_search=100, max_scan_tuples=20000)
MIN_CHUNKS = 2000


def _unit(rng: random.Random) -> list[float]:
    vector = [rng.gauss(0, 1) for _ in range(DIMS)]
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector]


@pytest.fixture(scope="module")
async def recall_db(engine: AsyncEngine, migrated_url: str) -> AsyncIterator[AsyncEngine]:
    name = f"recall_{uuid.uuid4().hex[:8]}"
    admin = engine.execution_options(isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(migrated_url).set(database=name).render_as_string(hide_password=False)
    await upgrade_head(url, ModelSpec("hash", "hash", DIMS))
    settings = Settings(  # type: ignore[call-arg]
        DATABASE_URL=url,
        EMBEDDING_DIMENSIONS=DIMS,
        VECTOR_INDEX_MIN_CHUNKS=MIN_CHUNKS,
        _env_file=None,
    )
    db = build_engine(settings.database, url)
    await _load(async_sessionmaker(db))
    assert await IndexBuilder(db, settings.search).run_once() == ["vs_sharded", "vs_big"]
    yield db
    await db.dispose()
    async with admin.connect() as conn:
        await conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))


async def _load(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    rng = random.Random(7)
    async with sessionmaker() as session, session.begin():
        for store, count in STORES.items():
            await add_store(session, store, DIMS)
            for part in range(count // 100):
                file_id = f"file-{store}-{part}"
                await attach_file(session, store, file_id, {"shard": part % 20})
                rows = [ChunkRow(i, f"{store} {part} {i}", 3, _unit(rng)) for i in range(100)]
                await replace_chunks(
                    session,
                    vector_store_id=store,
                    file_id=file_id,
                    attributes={"shard": part % 20},
                    chunks=rows,
                )
    async with sessionmaker() as session, session.begin():
        await session.execute(text("ANALYZE file_chunks"))


async def _hits(session: AsyncSession, **leg: Any) -> list[queries.Hit]:
    """One vector leg, sent as the service sends it."""
    (hits,) = await queries.fetch_legs(session, [queries.vector_candidates(**leg)])
    return hits


async def _top(
    db: AsyncEngine,
    store: str,
    vector: list[float],
    *,
    exact: bool | None,
    node: ComparisonFilter | None = None,
) -> list[int]:
    """`exact=None`: the path `open_search` chose for the store."""
    async with async_sessionmaker(db)() as session, session.begin():
        condition = compile_filter(FileChunk.attributes, node)
        target = await queries.open_search(
            session, project_id=uuid.UUID(PROJECT), vector_store_id=store, tuning=TUNING
        )
        assert target is not None
        hits = await _hits(
            session,
            vector_store_id=store,
            embedding=vector,
            condition=condition,
            limit=K,
            exact=target.exact if exact is None else exact,
            dimensions=DIMS,
        )
    return [h.chunk_id for h in hits]


async def _recall(db: AsyncEngine, store: str, node: ComparisonFilter | None = None) -> float:
    rng = random.Random(11)
    found = 0
    for _ in range(QUERIES):
        vector = _unit(rng)
        truth = set(await _top(db, store, vector, exact=True, node=node))
        assert len(truth) == K
        found += len(truth & set(await _top(db, store, vector, exact=None, node=node)))
    return found / (QUERIES * K)


class TestFilteredRecall:
    @pytest.mark.parametrize("store", ["vs_big", "vs_sharded"])
    async def test_a_large_store_is_searched_through_its_own_index(
        self, recall_db: AsyncEngine, store: str
    ) -> None:
        """The statement the service sends (open_search's settings, then the index leg)
        scans the store's own index: counted by PostgreSQL for this transaction."""
        vector = _unit(random.Random(1))
        async with async_sessionmaker(recall_db)() as session, session.begin():
            target = await queries.open_search(
                session, project_id=uuid.UUID(PROJECT), vector_store_id=store, tuning=TUNING
            )
            assert target is not None
            assert not target.exact
            hits = await _hits(
                session,
                vector_store_id=store,
                embedding=vector,
                condition=compile_filter(FileChunk.attributes, None),
                limit=K,
                exact=False,
                dimensions=DIMS,
            )
            scans = await session.scalar(
                text("SELECT pg_stat_get_xact_numscans(to_regclass(:name))"),
                {"name": f'"ix_file_chunks_hnsw_{store}"'},
            )
        assert len(hits) == K
        assert scans == 1

    async def test_large_store_recall(self, recall_db: AsyncEngine) -> None:
        assert await _recall(recall_db, "vs_big") >= 0.95

    async def test_small_store_inside_large_table(self, recall_db: AsyncEngine) -> None:
        assert await _recall(recall_db, "vs_small") >= 0.95

    async def test_selective_attribute_filter(self, recall_db: AsyncEngine) -> None:
        node = ComparisonFilter(type="eq", key="shard", value=7)
        assert await _recall(recall_db, "vs_sharded", node) >= 0.95

    async def test_exact_path_is_exact(self, recall_db: AsyncEngine) -> None:
        rng = random.Random(5)
        vector = _unit(rng)
        exact = await _top(recall_db, "vs_small", vector, exact=True)
        async with recall_db.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT id FROM file_chunks WHERE vector_store_id = 'vs_small' "
                    "ORDER BY embedding::vector <=> CAST(:v AS vector), id LIMIT 10"
                ),
                {"v": vector},
            )
            truth = [row[0] for row in rows]
        assert set(exact) == set(truth)

    async def test_plan_follows_the_store_index(self, recall_db: AsyncEngine) -> None:
        """Indexed stores take their index; a small one, a missing one, another project's,
        or one whose index is not valid yet (a build under way) are not."""
        project = uuid.UUID(PROJECT)
        async with async_sessionmaker(recall_db)() as session:

            async def exact(store: str, project_id: uuid.UUID = project) -> bool | None:
                target = await queries.open_search(
                    session, project_id=project_id, vector_store_id=store, tuning=TUNING
                )
                return None if target is None else target.exact

            assert await exact("vs_small") is True
            assert await exact("vs_big") is False
            assert await exact("vs_missing") is None
            assert await exact("vs_big", uuid.uuid4()) is None
            await session.execute(
                text(
                    "UPDATE pg_index SET indisvalid = false "
                    "WHERE indexrelid = '\"ix_file_chunks_hnsw_vs_sharded\"'::regclass"
                )
            )
            try:
                assert await exact("vs_sharded") is True
            finally:
                await session.rollback()

    async def test_selective_filter_falls_back_to_exact(self, recall_db: AsyncEngine) -> None:
        """When the index path runs dry under a selective filter (simulated here by turning
        the iterative scan off), the service answers exactly rather than with fewer rows."""
        stingy = queries.IndexTuning(ef_search=10, max_scan_tuples=100)
        rare = compile_filter(
            FileChunk.attributes, ComparisonFilter(type="eq", key="shard", value=7)
        )
        vector = _unit(random.Random(9))
        async with async_sessionmaker(recall_db)() as session, session.begin():
            target = await queries.open_search(
                session, project_id=uuid.UUID(PROJECT), vector_store_id="vs_big", tuning=stingy
            )
            assert target is not None
            assert not target.exact
            await session.execute(text("SET LOCAL hnsw.iterative_scan = off"))
            index_only = await _hits(
                session,
                vector_store_id="vs_big",
                embedding=vector,
                condition=rare,
                limit=K,
                exact=False,
                dimensions=DIMS,
            )
            body = SearchRequest(
                query="q", filters=ComparisonFilter(type="eq", key="shard", value=7)
            )
            plan = Plan("vs_big", body, target, K)
            (answered,) = await plan.refill_starved(session, [index_only], [vector])
            exact = await _hits(
                session,
                vector_store_id="vs_big",
                embedding=vector,
                condition=rare,
                limit=K,
                exact=True,
                dimensions=DIMS,
            )
        assert len(index_only) < K
        assert [h.chunk_id for h in answered] == [h.chunk_id for h in exact]


class TestBeamGrowsWithTheStore:
    """`open_search` sets `hnsw.ef_search` from the store's chunk count in the same
    statement: the configured beam up to 25,000 chunks, more for a larger store (whose
    graph needs it for the same recall), never below the search's candidate depth."""

    async def _beam(self, db: AsyncEngine, chunks: int | None, tuning: queries.IndexTuning) -> int:
        async with async_sessionmaker(db)() as session, session.begin():
            try:
                if chunks is None:
                    await session.execute(
                        text("DELETE FROM bm25_stores WHERE vector_store_id = 'vs_big'")
                    )
                else:
                    await session.execute(
                        text("UPDATE bm25_stores SET chunks = :n WHERE vector_store_id = 'vs_big'"),
                        {"n": chunks},
                    )
                target = await queries.open_search(
                    session, project_id=uuid.UUID(PROJECT), vector_store_id="vs_big", tuning=tuning
                )
                assert target is not None
                setting = await session.scalar(text("SELECT current_setting('hnsw.ef_search')"))
                return int(setting)
            finally:
                await session.rollback()

    @pytest.mark.parametrize(
        ("chunks", "beam"),
        [(None, 80), (6000, 80), (25_000, 80), (99_750, 140), (400_000, 243), (10**9, 1000)],
    )
    async def test_the_beam_follows_the_store_size(
        self, recall_db: AsyncEngine, chunks: int | None, beam: int
    ) -> None:
        tuning = queries.IndexTuning(ef_search=80, max_scan_tuples=20000, floor=10)
        assert await self._beam(recall_db, chunks, tuning) == beam
        assert queries.scaled_ef_search(tuning, chunks or 0) == beam

    async def test_the_candidate_depth_is_the_floor(self, recall_db: AsyncEngine) -> None:
        deep = queries.IndexTuning(ef_search=80, max_scan_tuples=20000, floor=300)
        assert await self._beam(recall_db, 99_750, deep) == 300


class TestSelectiveFiltersRankTheirFilesExactly:
    """An equality filter finds the store's matching attachments through their GIN index;
    when they hold few chunks, those are ranked exactly and the graph is not walked."""

    async def _search(
        self, db: AsyncEngine, node: Filter, vector: list[float], **options: Any
    ) -> tuple[list[int], int]:
        """The filtered leg the service sends, and how often it scanned the store's index."""
        async with async_sessionmaker(db)() as session, session.begin():
            target = await queries.open_search(
                session, project_id=uuid.UUID(PROJECT), vector_store_id="vs_big", tuning=TUNING
            )
            assert target is not None
            leg = filtered_vector_candidates(
                vector_store_id="vs_big",
                embedding=vector,
                found=matching("vs_big", node, **options),
                condition=and_(
                    compile_filter(FileChunk.attributes, node), file_is_live(FileChunk.file_id)
                ),
                limit=K,
                exact=target.exact,
                dimensions=DIMS,
            )
            before = await _graph_scans(session)
            (hits,) = await queries.fetch_legs(session, [leg])
            scans = await _graph_scans(session) - before
        return [h.chunk_id for h in hits], scans

    async def _truth(self, db: AsyncEngine, node: Filter, vector: list[float]) -> list[int]:
        return await _top(db, "vs_big", vector, exact=True, node=node)

    async def test_a_selective_equality_is_answered_exactly_without_the_graph(
        self, recall_db: AsyncEngine
    ) -> None:
        node = ComparisonFilter(type="eq", key="shard", value=7)  # 3 files, 300 chunks
        rng = random.Random(21)
        for _ in range(5):
            vector = _unit(rng)
            found, scans = await self._search(recall_db, node, vector)
            assert found == await self._truth(recall_db, node, vector)
            assert scans == 0

    async def test_a_selective_membership_is_answered_exactly(self, recall_db: AsyncEngine) -> None:
        node = ComparisonFilter(type="in", key="shard", value=[7, 8, 99])  # 6 files
        vector = _unit(random.Random(8))
        found, scans = await self._search(recall_db, node, vector)
        assert found == await self._truth(recall_db, node, vector)
        assert scans == 0

    async def test_the_whole_filter_applies_not_only_its_equalities(
        self, recall_db: AsyncEngine
    ) -> None:
        node = CompoundFilter(
            type="and",
            filters=[
                ComparisonFilter(type="eq", key="shard", value=7),
                ComparisonFilter(type="lt", key="shard", value=7),
            ],
        )
        found, _ = await self._search(recall_db, node, _unit(random.Random(2)))
        assert found == []

    async def test_many_matching_chunks_walk_the_graph(self, recall_db: AsyncEngine) -> None:
        node = ComparisonFilter(type="eq", key="shard", value=7)
        vector = _unit(random.Random(3))
        found, scans = await self._search(recall_db, node, vector, exact_max_chunks=299)
        assert scans == 1
        truth = await self._truth(recall_db, node, vector)
        assert len(set(found) & set(truth)) >= 0.9 * K

    async def test_an_or_of_selective_equalities_is_answered_exactly(
        self, recall_db: AsyncEngine
    ) -> None:
        node = CompoundFilter.model_validate(
            {
                "type": "or",
                "filters": [
                    {"type": "eq", "key": "shard", "value": 7},
                    {"type": "and", "filters": [{"type": "in", "key": "shard", "value": [8, 9]}]},
                ],
            }
        )  # 9 files
        vector = _unit(random.Random(9))
        found, scans = await self._search(recall_db, node, vector)
        assert found == await self._truth(recall_db, node, vector)
        assert scans == 0

    @pytest.mark.parametrize(
        "node",
        [
            CompoundFilter(
                type="or",
                filters=[
                    ComparisonFilter(type="eq", key="shard", value=7),
                    ComparisonFilter(type="lte", key="shard", value=0),
                ],
            ),
            ComparisonFilter(type="lte", key="shard", value=0),
        ],
    )
    async def test_filters_without_a_lookup_walk_the_graph(
        self, recall_db: AsyncEngine, node: Filter
    ) -> None:
        found, scans = await self._search(recall_db, node, _unit(random.Random(4)))
        assert scans == 1
        assert len(found) == K

    async def test_an_expired_file_is_left_out(self, recall_db: AsyncEngine) -> None:
        node = ComparisonFilter(type="eq", key="shard", value=7)
        vector = _unit(random.Random(6))
        before, _ = await self._search(recall_db, node, vector)
        async with recall_db.begin() as conn:
            gone = await conn.scalar(
                text("SELECT file_id FROM file_chunks WHERE id = :id"), {"id": before[0]}
            )
            await conn.execute(
                text("UPDATE files SET expires_at = now() - interval '1 minute' WHERE id = :f"),
                {"f": gone},
            )
        try:
            after, _ = await self._search(recall_db, node, vector)
        finally:
            async with recall_db.begin() as conn:
                await conn.execute(
                    text("UPDATE files SET expires_at = NULL WHERE id = :f"), {"f": gone}
                )
        kept = await _file_ids(recall_db, after)
        assert len(after) == K
        assert gone not in kept


async def _graph_scans(session: AsyncSession) -> int:
    """Scans of vs_big's own index this backend has counted (not yet flushed ones of
    earlier transactions included: only a difference means anything)."""
    scans = await session.scalar(
        text("SELECT pg_stat_get_xact_numscans(to_regclass(:name))"),
        {"name": '"ix_file_chunks_hnsw_vs_big"'},
    )
    return int(scans or 0)


async def _file_ids(db: AsyncEngine, chunk_ids: list[int]) -> set[str]:
    async with db.connect() as conn:
        rows = await conn.execute(
            text("SELECT file_id FROM file_chunks WHERE id = ANY(:ids)"), {"ids": chunk_ids}
        )
        return {row[0] for row in rows}


_EQ_A = {"type": "eq", "key": "a", "value": "x"}
_EQ_B = {"type": "eq", "key": "b", "value": 2}


class TestContainment:
    """Which filters have a necessary condition the attributes' GIN index can answer."""

    def _sql(self, node: Filter) -> str | None:
        hint = containment(column("attributes"), node)
        return None if hint is None else str(hint.compile(compile_kwargs={"literal_binds": True}))

    def test_each_equality_at_the_top_is_a_containment(self) -> None:
        node = CompoundFilter(
            type="and",
            filters=[
                ComparisonFilter(type="eq", key="a", value="x"),
                ComparisonFilter(type="gt", key="b", value=1),
                ComparisonFilter(type="eq", key="c", value=True),
            ],
        )
        assert self._sql(node) == (
            '(attributes @> CAST(\'{"a": "x"}\' AS JSONB)) AND '
            "(attributes @> CAST('{\"c\": true}' AS JSONB))"
        )
        single = ComparisonFilter(type="eq", key="n", value=2.5)
        assert self._sql(single) == "attributes @> CAST('{\"n\": 2.5}' AS JSONB)"

    def test_a_membership_is_one_containment_per_value(self) -> None:
        node = CompoundFilter.model_validate(
            {"type": "and", "filters": [_EQ_A, {"type": "in", "key": "b", "value": [1, "1"]}]}
        )
        assert self._sql(node) == (
            '(attributes @> CAST(\'{"a": "x"}\' AS JSONB)) AND '
            "((attributes @> CAST('{\"b\": 1}' AS JSONB)) OR "
            '(attributes @> CAST(\'{"b": "1"}\' AS JSONB)))'
        )

    def test_an_or_needs_a_lookup_in_every_branch(self) -> None:
        node = CompoundFilter.model_validate(
            {
                "type": "or",
                "filters": [
                    _EQ_A,
                    {"type": "and", "filters": [{"type": "gt", "key": "n", "value": 1}, _EQ_B]},
                ],
            }
        )
        assert self._sql(node) == (
            '(attributes @> CAST(\'{"a": "x"}\' AS JSONB)) OR '
            "(attributes @> CAST('{\"b\": 2}' AS JSONB))"
        )

    def test_nested_ands_keep_their_lookups(self) -> None:
        node = CompoundFilter.model_validate(
            {"type": "and", "filters": [{"type": "and", "filters": [_EQ_A]}]}
        )
        assert self._sql(node) == 'attributes @> CAST(\'{"a": "x"}\' AS JSONB)'

    def test_parameters_follow_the_sql(self) -> None:
        node = CompoundFilter.model_validate(
            {
                "type": "and",
                "filters": [
                    {"type": "or", "filters": [_EQ_A, {"type": "in", "key": "c", "value": [3, 4]}]},
                    {"type": "ne", "key": "d", "value": 1},
                    _EQ_B,
                ],
            }
        )
        hint = containment(column("attributes"), node, Names("p"))
        assert hint is not None
        sql = str(hint.compile(dialect=postgresql.dialect()))
        assert [sql.index(f"p{n}") for n in range(4)] == sorted(
            sql.index(f"p{n}") for n in range(4)
        )
        assert containment_parameters(node, "p") == {
            "p0": '{"a": "x"}',
            "p1": '{"c": 3}',
            "p2": '{"c": 4}',
            "p3": '{"b": 2}',
        }

    @pytest.mark.parametrize(
        "node",
        [
            ComparisonFilter(type="ne", key="a", value="x"),
            ComparisonFilter(type="nin", key="a", value=["x"]),
            CompoundFilter.model_validate(
                {"type": "or", "filters": [_EQ_A, {"type": "lt", "key": "n", "value": 1}]}
            ),
            CompoundFilter.model_validate(
                {"type": "and", "filters": [{"type": "gte", "key": "n", "value": 1}]}
            ),
        ],
    )
    def test_other_filters_have_none(self, node: Filter) -> None:
        assert self._sql(node) is None
