"""The hand-written vector retrieval queries: HNSW (iterative) and exact (BM25: `db.bm25`).

Every query is confined to one store (and the caller's attribute filter). The
plan is chosen here, not left to the planner: a store with a valid index of its own
(db/vector_indexes.py) is searched through it, with an iterative scan that keeps
going until enough rows pass the filters (a filter so selective that the scan gives
up early is retried exactly by the caller); any other store is scanned exactly
through its btree. (Left alone, the planner prices a wide `ef_search` beam above a
scan of the store and picks the slower plan.)

A search is two round trips: `open_search`, then `fetch_legs` with every retrieval
the request needs (vector and keyword, per query) in one statement.
"""

from __future__ import annotations

import functools
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import HALFVEC
from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    bindparam,
    case,
    cast,
    column,
    false,
    func,
    literal,
    literal_column,
    select,
    table,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import BindParameter, Label
from sqlalchemy.sql.selectable import LateralFromClause
from sqlalchemy.types import NullType, String

from maia_vectordb.db import driver_sql, vector_indexes
from maia_vectordb.db.models import Bm25Store, File, FileChunk, VectorStore
from maia_vectordb.embeddings.spec import ModelSpec

TEXT_SEARCH_CONFIG = "english"


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    file_id: str
    filename: str
    text: str
    attributes: dict[str, Any] | None
    score: float
    complete: bool = False
    """Its leg ranked every chunk that could pass (a selective filter's files, exactly):
    fewer hits than asked for is then the whole answer, not a scan that gave up."""


# A store's HNSW beam grows with the store: recall at a fixed ef_search falls as the
# graph grows (bench/ef_search.py on embedding-like 1536-d vectors, m 16 / ef_construction
# 64: ef 100 gives recall@10 0.988 in a 23,750-chunk store but 0.949 in a 99,750-chunk
# one, where ef 140 gives 0.973). ef = base * (chunks / EF_REFERENCE_CHUNKS) ** EF_GROWTH
# for stores above the reference size keeps recall near 0.97 at both.
EF_REFERENCE_CHUNKS = 25_000
EF_GROWTH = 0.4
EF_MAX = 1000
"""pgvector's ceiling for `hnsw.ef_search`."""


@dataclass(frozen=True)
class IndexTuning:
    ef_search: int
    """The beam for a store of up to `EF_REFERENCE_CHUNKS` chunks; larger ones get more."""
    max_scan_tuples: int
    floor: int = 0
    """The least beam whatever the store's size: the search's candidate depth."""


def scaled_ef_search(tuning: IndexTuning, chunks: int) -> int:
    """The beam `open_search` sets for a store of `chunks` chunks (its SQL computes the
    same; tests/db/test_search_recall.py holds them together)."""
    growth = max(chunks, EF_REFERENCE_CHUNKS) / EF_REFERENCE_CHUNKS
    return max(tuning.floor, min(EF_MAX, math.ceil(tuning.ef_search * math.pow(growth, EF_GROWTH))))


def _ef_search(chunks: ColumnElement[Any]) -> ColumnElement[Any]:
    """`scaled_ef_search` in SQL, from the store's chunk count in the same statement."""
    base = bindparam("ef_search", type_=Integer())
    growth = cast(func.greatest(func.coalesce(chunks, 0), EF_REFERENCE_CHUNKS), Float)
    scaled = func.ceil(base * func.power(growth / EF_REFERENCE_CHUNKS, EF_GROWTH))
    ef = func.greatest(bindparam("ef_floor", type_=Integer()), func.least(EF_MAX, scaled))
    return cast(cast(ef, Integer), String)


@dataclass(frozen=True)
class SearchTarget:
    """The store as search needs it, and the plan chosen for it."""

    exact: bool
    last_active_at: datetime
    expires_at: datetime | None
    model: ModelSpec
    """The store's embedding model: queries are embedded with it, searched at its width."""


def _store_index() -> LateralFromClause:
    """Whether the store's own HNSW index exists and is valid (not still being built), as
    one column, computed once per search though the statement reads it twice. An id that
    could not name an index finds none (`quote_ident` keeps it a name)."""
    name = func.quote_ident(literal(vector_indexes.INDEX_PREFIX) + VectorStore.id)
    index = table("pg_index", column("indexrelid"), column("indisvalid"))
    valid = (
        select(literal(1))
        .where(index.c.indexrelid == func.to_regclass(name), index.c.indisvalid)
        .correlate(VectorStore)
        .exists()
    )
    return select(valid.label("indexed")).correlate(VectorStore).lateral("store_index")


@functools.cache
def _open_statement() -> Select[Any]:
    """Built once (immutable, so shared): building it and its cache key per search cost
    ~1 ms of CPU. Every value is bound when it runs."""
    store_index = _store_index()
    indexed = store_index.c.indexed
    chunks = (
        select(Bm25Store.chunks)
        .where(Bm25Store.vector_store_id == VectorStore.id)
        .correlate(VectorStore)
        .scalar_subquery()
    )
    setting = functools.partial(bindparam, type_=String())
    return (
        select(
            VectorStore.last_active_at,
            VectorStore.expires_at,
            VectorStore.embedding_provider,
            VectorStore.embedding_model,
            VectorStore.embedding_dimensions,
            indexed,
            func.set_config("hnsw.iterative_scan", "relaxed_order", False),
            func.set_config("hnsw.ef_search", _ef_search(chunks), False),
            func.set_config("hnsw.max_scan_tuples", setting("max_scan_tuples"), False),
            func.set_config("enable_seqscan", case((indexed, "off"), else_="on"), False),
        )
        .select_from(VectorStore)
        .join(store_index, true())
        .where(
            VectorStore.id == bindparam("store", type_=String()),
            VectorStore.project_id == bindparam("project", type_=VectorStore.project_id.type),
        )
    )


async def open_search(
    session: driver_sql.Runner,
    *,
    project_id: uuid.UUID,
    vector_store_id: str,
    tuning: IndexTuning,
) -> SearchTarget | None:
    """One round trip: the tenant's store, whether it has a valid index of its own, and
    the HNSW settings for the statement that follows. The settings are the session's,
    not the transaction's: the search pool runs in autocommit
    (`db.engine.build_search_engine`), only searches use its connections, and every
    search sets all of them here."""
    params = {
        "store": vector_store_id,
        "project": project_id,
        "ef_search": tuning.ef_search,
        "ef_floor": tuning.floor,
        "max_scan_tuples": str(tuning.max_scan_tuples),
    }
    rows = await driver_sql.fetch_all(session, _open_statement(), params)
    if not rows:
        return None
    last_active_at, expires_at, provider, model, dimensions, indexed = tuple(rows[0])[:6]
    return SearchTarget(
        exact=not indexed,
        last_active_at=last_active_at,
        expires_at=expires_at,
        model=ModelSpec(provider, model, dimensions),
    )


HIT_COLUMNS = (FileChunk.id, FileChunk.file_id, FileChunk.text, FileChunk.attributes)


def cosine_distance(
    embedding: list[float] | BindParameter[Any], dimensions: int, *, unique: bool = False
) -> ColumnElement[Any]:
    """Both sides cast to `halfvec(dimensions)`, the expression of that width's partial
    HNSW index (db/vector_indexes.py), so the planner can use it. `unique` names the
    parameter apart from other query vectors in the same statement; a statement built
    once passes its own named parameter instead of a value."""
    width = HALFVEC(dimensions)
    vector = (
        embedding
        if isinstance(embedding, BindParameter)
        else bindparam("query_vec", embedding, type_=NullType(), unique=unique)
    )
    query_vec = cast(vector, width)
    return cast(FileChunk.embedding, width).op("<=>", return_type=NullType())(query_vec)


def vector_candidates(
    *,
    vector_store_id: str | BindParameter[str],
    embedding: list[float] | BindParameter[Any],
    condition: ColumnElement[bool],
    limit: int | BindParameter[int],
    exact: bool,
    dimensions: int,
) -> Select[Any]:
    """Nearest chunks by cosine distance, `score` = 1 - distance (for `fetch_legs`)."""
    distance = cosine_distance(embedding, dimensions, unique=True)
    if exact:
        # `+ 0` keeps the ordering off any HNSW index: the store's rows via its btree.
        in_store, ordering = FileChunk.vector_store_id == vector_store_id, distance + literal(0)
    else:
        # The store's own index's predicate, word for word, so the planner can prove it
        # (literals: a parameter could not); `|| ''` keeps the store's btree out of it.
        hidden = FileChunk.vector_store_id.concat(literal_column("''"))
        in_store, ordering = hidden == _store_literal(vector_store_id), distance
    # A literal, not a parameter: a generic plan could not prove the index's predicate.
    in_store = in_store & (FileChunk.embedding_dim == literal_column(str(int(dimensions))))
    return (
        select(*HIT_COLUMNS, (1.0 - distance).label("score"))
        .where(in_store, condition)
        .order_by(ordering)
        .limit(limit)
    )


def _store_literal(vector_store_id: str | BindParameter[str]) -> BindParameter[str]:
    """The id rendered into the SQL (quoted by its type) when the statement runs: a
    statement built once binds it as `<name>_literal`."""
    if isinstance(vector_store_id, BindParameter):
        return bindparam(f"{vector_store_id.key}_literal", type_=String(), literal_execute=True)
    return bindparam(None, vector_store_id, type_=String(), literal_execute=True)


def legs_statement(legs: Sequence[Select[Any]]) -> Executable:
    """Every retrieval of a search (vector and keyword, one per query) in one statement,
    one round trip: each leg a materialised CTE, already limited, then joined to its file
    names and tagged with its position."""
    parts = []
    for number, candidates in enumerate(legs):
        cte = candidates.cte(f"leg{number}").prefix_with("MATERIALIZED")
        tag: Label[int] = literal_column(str(number)).label("leg")
        columns = (cte.c.id, cte.c.file_id, cte.c.text, cte.c.attributes, cte.c.score)
        complete = cte.c.complete if "complete" in cte.c else false().label("complete")
        parts.append(
            select(tag, *columns, complete, File.filename).join(File, File.id == cte.c.file_id)
        )
    return parts[0] if len(parts) == 1 else union_all(*parts)


async def fetch_legs(session: AsyncSession, legs: Sequence[Select[Any]]) -> list[list[Hit]]:
    """`legs_statement` built for this search and run."""
    rows = await session.execute(legs_statement(legs))
    return collect_hits(rows, len(legs))


async def fetch_statement(
    session: driver_sql.Runner, statement: Executable, legs: int, params: Mapping[str, Any]
) -> list[list[Hit]]:
    """A `legs_statement` built once (`db.search_statements`), run as the driver's SQL."""
    rows = await driver_sql.fetch_all(session, statement, params)
    return collect_hits(rows, legs)


def collect_hits(rows: Iterable[Sequence[Any]], legs: int) -> list[list[Hit]]:
    """Each leg's hits from a `legs_statement`'s rows, best first, scores floored at 0."""
    found: list[list[Hit]] = [[] for _ in range(legs)]
    for leg, chunk_id, file_id, text, attributes, score, complete, filename in rows:
        hit = Hit(chunk_id, file_id, filename, text, attributes, max(0.0, float(score)), complete)
        found[leg].append(hit)
    for hits in found:
        hits.sort(key=lambda hit: (-hit.score, hit.chunk_id))
    return found
