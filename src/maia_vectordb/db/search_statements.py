"""Search statements built once per shape of their legs and attribute filter.

Building the BM25 and vector legs with SQLAlchemy and deriving the statement's cache
key cost several milliseconds of CPU per search, more than PostgreSQL spends on some of
them. A search's statement depends only on its legs' kinds, plan and width, and on its
attribute filter's shape (`db.filters.shape`: the tree and its comparisons' types,
not keys or values); every value (store, limit, query vectors and texts, the filter's
keys and values) is bound when it runs.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, Integer, Select, String, and_, bindparam
from sqlalchemy.sql import Executable
from sqlalchemy.types import NullType

from maia_vectordb.db import bm25
from maia_vectordb.db.filtered_search import (
    FilterNames,
    filtered_vector_candidates,
    keyword_scope,
)
from maia_vectordb.db.filters import (
    Names,
    compile_filter,
    containment_parameters,
    filter_parameters,
    shape,
)
from maia_vectordb.db.liveness import file_is_live
from maia_vectordb.db.models import FileChunk
from maia_vectordb.db.search import legs_statement, vector_candidates
from maia_vectordb.schemas.filters import Filter

STATEMENTS_KEPT = 64
NAMES = FilterNames()


@dataclass(frozen=True)
class LegShape:
    kind: Literal["vector", "keyword"]
    exact: bool = False
    dimensions: int = 0


@dataclass(frozen=True)
class FilterKey:
    """A filter as `filtered`'s cache sees it: by shape; the filter itself only builds
    the statement the first time its shape is met."""

    shape: Hashable
    node: Filter = field(compare=False, hash=False)

    @classmethod
    def of(cls, node: Filter) -> FilterKey:
        return cls(shape(node), node)


def parameters(
    *,
    vector_store_id: str,
    limit: int,
    values: list[list[float] | str],
    filters: Filter | None = None,
) -> dict[str, Any]:
    """What `unfiltered` and `filtered` bind: leg n's query vector or text is `leg_n`."""
    named: dict[str, Any] = {"store": vector_store_id, "limit": limit}
    named["store_literal"] = vector_store_id  # what an indexed leg renders into its SQL
    named |= {f"leg_{number}": value for number, value in enumerate(values)}
    if filters is not None:
        named |= filter_parameters(filters, NAMES.filter)
        named |= containment_parameters(filters, NAMES.contains)
    return named


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def unfiltered(shapes: tuple[LegShape, ...]) -> Executable:
    """The statement for these legs over live files, built once (immutable, so shared)."""
    return legs_statement([_leg(number, leg) for number, leg in enumerate(shapes)])


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def filtered(shapes: tuple[LegShape, ...], key: FilterKey) -> Executable:
    """The statement for these legs under a filter of this shape, over live files."""
    node = key.node
    condition = and_(
        compile_filter(FileChunk.attributes, node, Names(NAMES.filter)),
        file_is_live(FileChunk.file_id),
    )
    legs = [_leg(n, leg, condition, node) for n, leg in enumerate(shapes)]
    return legs_statement(legs)


def _leg(
    number: int,
    leg: LegShape,
    condition: ColumnElement[bool] | None = None,
    node: Filter | None = None,
) -> Select[Any]:
    store = bindparam("store", type_=String())
    limit = bindparam("limit", type_=Integer())
    name = f"leg_{number}"
    condition = file_is_live(FileChunk.file_id) if condition is None else condition
    if leg.kind == "keyword":
        text = bindparam(name, type_=String())
        within = None if node is None else keyword_scope(store, node, NAMES)
        return bm25.keyword_candidates(
            vector_store_id=store, query=text, condition=condition, limit=limit, within=within
        )
    embedding = bindparam(name, type_=NullType())
    if node is None:
        return vector_candidates(
            vector_store_id=store,
            embedding=embedding,
            condition=condition,
            limit=limit,
            exact=leg.exact,
            dimensions=leg.dimensions,
        )
    return filtered_vector_candidates(
        vector_store_id=store,
        embedding=embedding,
        filters=node,
        condition=condition,
        limit=limit,
        exact=leg.exact,
        dimensions=leg.dimensions,
        names=NAMES,
    )
