"""Search statements built once per shape, for the searches without an attribute filter.

Building the BM25 and vector legs with SQLAlchemy and deriving the statement's cache
key cost several milliseconds of CPU per search, more than PostgreSQL spends on some of
them. Without an attribute filter, a search's statement depends only on its legs' kinds,
plan and width; every value (store, limit, query vectors and texts) is bound when it
runs. Filtered searches build theirs per request (`compile_filter` binds its values).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Integer, Select, String, bindparam
from sqlalchemy.sql import Executable
from sqlalchemy.types import NullType

from maia_vectordb.db import bm25
from maia_vectordb.db.liveness import file_is_live
from maia_vectordb.db.models import FileChunk
from maia_vectordb.db.search import legs_statement, vector_candidates

STATEMENTS_KEPT = 64


@dataclass(frozen=True)
class LegShape:
    kind: Literal["vector", "keyword"]
    exact: bool = False
    dimensions: int = 0


def parameters(
    *, vector_store_id: str, limit: int, values: list[list[float] | str]
) -> dict[str, Any]:
    """What `unfiltered` binds: leg n's query vector or text is `leg_n`."""
    named: dict[str, Any] = {"store": vector_store_id, "limit": limit}
    named["store_literal"] = vector_store_id  # what an indexed leg renders into its SQL
    named |= {f"leg_{number}": value for number, value in enumerate(values)}
    return named


@functools.lru_cache(maxsize=STATEMENTS_KEPT)
def unfiltered(shapes: tuple[LegShape, ...]) -> Executable:
    """The statement for these legs over live files, built once (immutable, so shared)."""
    return legs_statement([_leg(number, shape) for number, shape in enumerate(shapes)])


def _leg(number: int, shape: LegShape) -> Select[Any]:
    store = bindparam("store", type_=String())
    limit = bindparam("limit", type_=Integer())
    name, live = f"leg_{number}", file_is_live(FileChunk.file_id)
    if shape.kind == "keyword":
        text = bindparam(name, type_=String())
        return bm25.keyword_candidates(
            vector_store_id=store, query=text, condition=live, limit=limit
        )
    return vector_candidates(
        vector_store_id=store,
        embedding=bindparam(name, type_=NullType()),
        condition=live,
        limit=limit,
        exact=shape.exact,
        dimensions=shape.dimensions,
    )
