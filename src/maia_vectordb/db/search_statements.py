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
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import NullType

from maia_vectordb.db import bm25
from maia_vectordb.db.filtered_search import (
    FilterNames,
    Matching,
    filtered_vector_candidates,
    keyword_scope,
    matching,
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
from maia_vectordb.db.search import legs_statement
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
    return _statement(shapes, None)


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def filtered(shapes: tuple[LegShape, ...], key: FilterKey) -> Executable:
    """The statement for these legs under a filter of this shape, over live files."""
    return _statement(shapes, key.node)


def _statement(shapes: tuple[LegShape, ...], node: Filter | None) -> Executable:
    """One lookup of the filter's matching files serves every leg (`matching`); without
    a filter the condition is liveness alone (`and_` drops the filter's `true()`)."""
    store = bindparam("store", type_=String())
    condition = and_(
        compile_filter(FileChunk.attributes, node, Names(NAMES.filter)),
        file_is_live(FileChunk.file_id),
    )
    found = matching(store, node, NAMES)
    return legs_statement([_leg(n, leg, store, condition, found) for n, leg in enumerate(shapes)])


def _leg(
    number: int,
    leg: LegShape,
    store: BindParameter[str],
    condition: ColumnElement[bool],
    found: Matching | None,
) -> Select[Any]:
    limit = bindparam("limit", type_=Integer())
    name = f"leg_{number}"
    if leg.kind == "keyword":
        text = bindparam(name, type_=String())
        within = keyword_scope(store, found)
        return bm25.keyword_candidates(
            vector_store_id=store, query=text, condition=condition, limit=limit, within=within
        )
    return filtered_vector_candidates(
        vector_store_id=store,
        embedding=bindparam(name, type_=NullType()),
        found=found,
        condition=condition,
        limit=limit,
        exact=leg.exact,
        dimensions=leg.dimensions,
    )
