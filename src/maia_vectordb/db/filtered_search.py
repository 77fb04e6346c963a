"""Vector retrieval under an attribute filter: a selective one ranks its few files exactly.

An HNSW scan with a filter keeps walking the graph until `limit` chunks pass; with a
filter that keeps 1 % of a store that is ~1,000 tuples and ~20 ms of PostgreSQL CPU,
and recall depends on how far the walk goes. But chunks carry a copy of their
attachment's attributes (both change in one transaction: `services.ingestion.record`
reads them under the attachment's row lock, `update_attributes` rewrites both), so
a filter's equalities and memberships (`eq`, `in`, joined as `db.filters.containment`
joins them: through `and`s, and through an `or` with one in every branch) find the
store's matching attachments through their GIN index (one row per file), and when
those files hold at most
`EXACT_MAX_CHUNKS` chunks, ranking all of them exactly is both cheaper and exact.

Which way a search goes is decided inside its one statement: a materialised count
(stopping at `EXACT_MAX_CHUNKS + 1`) gates two branches, of which PostgreSQL runs
only the one whose one-time filter holds. Filters without such a lookup (ranges, `ne`,
`nin`, an `or` with a branch of those) keep the graph walk alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Select,
    bindparam,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import NullType

from maia_vectordb.db.bm25 import Within
from maia_vectordb.db.filters import Names, compile_filter, containment
from maia_vectordb.db.liveness import file_is_live
from maia_vectordb.db.models import FileChunk, VectorStoreFile
from maia_vectordb.db.search import HIT_COLUMNS, cosine_distance, vector_candidates
from maia_vectordb.schemas.filters import Filter

EXACT_MAX_CHUNKS = 2_000
"""Where ranking the matches exactly stops being cheaper than the graph walk: ~3 to 5 µs of
PostgreSQL CPU a 1536-d chunk, its row read through the store's btree. In a 23,750-chunk
store (docs/benchmarks.md), 300 matching chunks took 0.5 to 1.7 ms exactly against 26 to 139
ms of walking; 2,375 (10 %) took 6 to 14 ms exactly and 4 to 12 ms walking."""


@dataclass(frozen=True)
class FilterNames:
    """How a statement built once names a filter's values: `filter` for the filter's
    keys and values (compiled twice, over chunks and attachments, with the same names),
    `contains` for its containments."""

    filter: str = "filter_"
    contains: str = "contains_"


Store = str | BindParameter[str]


@dataclass(frozen=True)
class Matching:
    """A filter's lookup, built once per statement and shared by all of its legs: the
    store's matching files, and whether they hold few enough chunks to rank exactly."""

    files: CTE
    few: ColumnElement[bool]
    recheck: ColumnElement[bool]
    """The filter on the chunks' own copy of the attributes, for rows ranked from `files`
    (whose liveness `files` already checked, once per file, not per chunk)."""


def matching(
    vector_store_id: Store,
    filters: Filter | None,
    names: FilterNames | None = None,
    exact_max_chunks: int = EXACT_MAX_CHUNKS,
) -> Matching | None:
    """None when the filter (if any) has nothing the attachments' index can look up.
    With `names` the filter's values are named parameters (`db.search_statements`)."""
    files = matching_files(vector_store_id, filters, names)
    if files is None:
        return None
    few = _holds_few_chunks(files, vector_store_id, exact_max_chunks)
    recheck = compile_filter(
        FileChunk.attributes, filters, None if names is None else Names(names.filter)
    )
    return Matching(files, few, recheck)


def filtered_vector_candidates(
    *,
    vector_store_id: Store,
    embedding: list[float] | BindParameter[Any],
    found: Matching | None,
    condition: ColumnElement[bool],
    limit: int | BindParameter[int],
    exact: bool,
    dimensions: int,
) -> Select[Any]:
    """`db.search.vector_candidates` under a filter (`condition`: the filter on the
    chunks and their liveness). With a lookup, an `exact` plan ranks the matching files'
    chunks however many; otherwise the lookup's count chooses between ranking them and
    the graph walk. Without one, the walk (or the exact scan) alone."""
    query_vec = (
        embedding
        if isinstance(embedding, BindParameter)
        else bindparam(None, embedding, type_=NullType(), unique=True)
    )
    walk = vector_candidates(
        vector_store_id=vector_store_id,
        embedding=query_vec,
        condition=condition,
        limit=limit,
        exact=exact,
        dimensions=dimensions,
    )
    if found is None:
        return walk
    in_files = _rank_files(found.files, vector_store_id, query_vec, limit, dimensions)
    in_files = in_files.where(found.recheck)
    if exact:
        return in_files
    walked = walk.add_columns(false().label("complete")).where(not_(found.few))
    either = union_all(in_files.where(found.few), walked).subquery()
    return select(*either.c)


def matching_files(
    vector_store_id: Store, filters: Filter | None, names: FilterNames | None = None
) -> CTE | None:
    """The store's live attachments that pass the whole filter, found through the GIN
    index by its equalities and memberships; None when it has none to look up."""
    attributes = VectorStoreFile.attributes
    hint = containment(attributes, filters, None if names is None else Names(names.contains))
    if hint is None:
        return None
    return (
        select(VectorStoreFile.file_id)
        .where(
            VectorStoreFile.vector_store_id == vector_store_id,
            hint,
            compile_filter(attributes, filters, None if names is None else Names(names.filter)),
            file_is_live(VectorStoreFile.file_id),
        )
        .cte()
        .prefix_with("MATERIALIZED")
    )


def _holds_few_chunks(files: CTE, vector_store_id: Store, bound: int) -> ColumnElement[bool]:
    """Whether `files` hold at most `bound` chunks in the store: counted from the store's
    btree alone (index-only), stopping one past the bound."""
    some = (
        select(literal(1))
        .select_from(FileChunk)
        .join(files, FileChunk.file_id == files.c.file_id)
        .where(FileChunk.vector_store_id == vector_store_id)
        .limit(bound + 1)
        .subquery()
    )
    few = select((func.count() <= bound).label("few")).select_from(some)
    gate = few.cte().prefix_with("MATERIALIZED")
    return select(gate.c.few).scalar_subquery()


def _rank_files(
    files: CTE,
    vector_store_id: Store,
    query_vec: BindParameter[Any],
    limit: int | BindParameter[int],
    dimensions: int,
) -> Select[Any]:
    """Every chunk of `files` in the store, nearest first (`+ 0` keeps the ordering off
    the HNSW index: the rows come through the store's btree, file by file)."""
    distance = cosine_distance(query_vec, dimensions)
    return (
        select(*HIT_COLUMNS, (1.0 - distance).label("score"), true().label("complete"))
        .join(files, FileChunk.file_id == files.c.file_id)
        .where(
            FileChunk.vector_store_id == vector_store_id,
            FileChunk.embedding_dim == literal_column(str(int(dimensions))),
        )
        .order_by(distance + literal(0))
        .limit(limit)
    )


def keyword_scope(vector_store_id: Store, found: Matching | None) -> Within | None:
    """For the keyword leg (`db.bm25.keyword_candidates`): when the filter's matching
    files hold few chunks, rank only theirs. Its ranking is visited best first until
    enough chunks pass the filter, which under a filter keeping 1 % of a store meant
    reading ~100 chunk rows for each one kept. None without a lookup."""
    if found is None:
        return None
    chunks = (
        select(FileChunk.id)
        .join(found.files, FileChunk.file_id == found.files.c.file_id)
        .where(FileChunk.vector_store_id == vector_store_id)
    )
    return lambda chunk_id: or_(not_(found.few), chunk_id.in_(chunks))
