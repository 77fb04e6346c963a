"""One HNSW index per large store, built in one pass once the store's queue drains.

Inserting a row into an HNSW graph costs ~9 ms of PostgreSQL CPU at 1536-d; building
the same graph in one pass costs ~1.5 ms a row, and a row no graph covers ~0.05 ms
(docs/benchmarks.md). So chunks go into `file_chunks` unindexed, a store below
`VECTOR_INDEX_MIN_CHUNKS` is searched exactly (its btree, then distances: ~1.5 µs a
row), and a store at or above it gets its own partial index, built with
`CREATE INDEX CONCURRENTLY` by `ingest.indexer` when no job of it is queued. Until
that index is valid the store is searched exactly, so a `completed` file is always
searchable. A search then walks only its own store's graph.

The predicate is `(vector_store_id || '') = '<id>'`: the `|| ''` hides the clause
from the store's btree, so the one plan a query with the same literal clause has is
this index (db/search.py). The width is fixed per store, and in the predicate too.
"""

from __future__ import annotations

import re

INDEX_PREFIX = "ix_file_chunks_hnsw_"
# pgvector's HNSW indexes halfvec up to 4000 dimensions.
MAX_INDEXED_DIMENSIONS = 4000
# Ids that name an index as they are: what `services.ids` makes, within 63 bytes.
INDEXABLE_ID = re.compile(r"[A-Za-z0-9_-]{1,43}")
# Any constant all processes agree on: one index build at a time across the deployment.
BUILD_LOCK_KEY = 0x6D616961_0007


def indexable(vector_store_id: str) -> bool:
    """A store whose id cannot name an index is never indexed (and searched exactly)."""
    return INDEXABLE_ID.fullmatch(vector_store_id) is not None


def index_name(vector_store_id: str) -> str:
    return f"{INDEX_PREFIX}{vector_store_id}"


def _checked(vector_store_id: str) -> str:
    """An id written into SQL as it is: one that would need escaping is refused."""
    if not indexable(vector_store_id):
        raise ValueError(f"cannot name an index after {vector_store_id!r}")
    return vector_store_id


def quoted_name(vector_store_id: str) -> str:
    """Ids are mixed-case: the identifier is quoted wherever SQL names it."""
    return f'"{index_name(_checked(vector_store_id))}"'


def store_predicate(vector_store_id: str) -> str:
    """The clause the index's predicate and the search's WHERE share, word for word."""
    return f"(vector_store_id || '') = '{_checked(vector_store_id)}'"


def create_statement(vector_store_id: str, dimensions: int, *, concurrently: bool = True) -> str:
    """DDL cannot take bind parameters: the id and the width are checked first."""
    if not isinstance(dimensions, int) or not 1 <= dimensions <= MAX_INDEXED_DIMENSIONS:
        raise ValueError(f"cannot index {dimensions!r}-dimensional embeddings")
    how = "CONCURRENTLY " if concurrently else ""
    return (
        f"CREATE INDEX {how}IF NOT EXISTS {quoted_name(vector_store_id)} ON file_chunks "
        f"USING hnsw ((embedding::halfvec({dimensions})) halfvec_cosine_ops) "
        f"WITH (m = 16, ef_construction = 64) "
        f"WHERE {store_predicate(vector_store_id)} AND embedding_dim = {dimensions}"
    )


def drop_statement(name: str) -> str:
    """`name` as the catalog spells it (one of ours, checked)."""
    if not is_store_index(name) or not indexable(name.removeprefix(INDEX_PREFIX)):
        raise ValueError(f"not a store index: {name!r}")
    return f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"'


def is_store_index(name: str | None) -> bool:
    return name is not None and name.startswith(INDEX_PREFIX)
