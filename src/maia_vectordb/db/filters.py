"""OpenAI attribute filters compiled to parameterised SQL over a JSONB column.

Comparisons are type-aware: a value only matches an attribute of the same JSON
type (numbers as numbers, booleans as booleans), and a missing key never
matches, not even `ne` or `nin`. Keys and values are always bound parameters.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    false,
    func,
    not_,
    or_,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from maia_vectordb.schemas.filters import ComparisonFilter, Filter

_ORDERING = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _json(value: Any) -> ColumnElement[Any]:
    return cast(bindparam(None, json.dumps(value)), JSONB)


def _json_array(values: list[Any]) -> ColumnElement[Any]:
    """A whole `in` list is one `jsonb[]` parameter, not one parameter per value."""
    texts = bindparam(None, [json.dumps(v) for v in values], type_=ARRAY(Text))
    return cast(texts, ARRAY(JSONB))


def _compare(column: Any, node: ComparisonFilter) -> ColumnElement[bool]:
    attr: ColumnElement[Any] = column.op("->")(bindparam(None, node.key))
    if node.type == "eq":
        return attr == _json(node.value)
    if node.type == "ne":
        return and_(attr.is_not(None), attr != _json(node.value))
    if node.type in _ORDERING:
        value = _json(node.value)
        same_type = func.jsonb_typeof(attr) == func.jsonb_typeof(value)
        return and_(same_type, attr.op(_ORDERING[node.type])(value))
    assert isinstance(node.value, list)
    member = attr == any_(_json_array(node.value))
    if node.type == "in":
        return member
    return and_(attr.is_not(None), not_(member))


def compile_filter(column: Any, node: Filter | None) -> ColumnElement[bool]:
    """`column` may be an ORM attribute; building on its Column is several times cheaper."""
    column = getattr(column, "expression", column)
    if node is None:
        return true()
    if isinstance(node, ComparisonFilter):
        return _compare(column, node)
    parts = [compile_filter(column, child) for child in node.filters]
    if not parts:
        return true() if node.type == "and" else false()
    return and_(*parts) if node.type == "and" else or_(*parts)


def containment(column: Any, node: Filter | None) -> ColumnElement[bool] | None:
    """A necessary condition of `node` that a `jsonb_path_ops` GIN index answers: its
    top-level equalities as one `column @> {key: value, ...}` (for scalars, containment
    is JSON equality), or None when it has none (`or`, ranges, `ne`, `nin`, `in`).
    Callers apply it next to the full filter, never instead of it."""
    if node is None:
        return None
    top = [node] if isinstance(node, ComparisonFilter) else []
    if not isinstance(node, ComparisonFilter) and node.type == "and":
        top = [child for child in node.filters if isinstance(child, ComparisonFilter)]
    pairs = {child.key: child.value for child in top if child.type == "eq"}
    if not pairs:
        return None
    column = getattr(column, "expression", column)
    contains: ColumnElement[bool] = column.op("@>", return_type=Boolean())(_json(pairs))
    return contains
