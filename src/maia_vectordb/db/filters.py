"""OpenAI attribute filters compiled to parameterised SQL over a JSONB column.

Comparisons are type-aware: a value only matches an attribute of the same JSON
type (numbers as numbers, booleans as booleans), and a missing key never
matches, not even `ne` or `nin`. Keys and values are always bound parameters.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    ColumnElement,
    String,
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
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.types import TypeEngine

from maia_vectordb.schemas.filters import ComparisonFilter, Filter

_ORDERING = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class Names:
    """Names a filter's parameters in the order they are met (`prefix`0, 1, ...) and
    leaves their values out: a statement built so serves every filter of the same
    `shape`, with `filter_parameters` / `containment_parameters` giving the values."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.count = prefix, 0

    def bind(self, type_: TypeEngine[Any], *, literal: bool = False) -> BindParameter[Any]:
        """`literal`: written into the SQL when it runs (quoted), so PostgreSQL plans with
        the value in sight instead of reusing a generic plan for it."""
        name = f"{self.prefix}{self.count}"
        self.count += 1
        return bindparam(name, type_=type_, literal_execute=literal)


def _param(value: Any, type_: TypeEngine[Any], names: Names | None) -> BindParameter[Any]:
    return bindparam(None, value, type_=type_) if names is None else names.bind(type_)


def _json(value: Any, names: Names | None) -> ColumnElement[Any]:
    return cast(_param(json.dumps(value), String(), names), JSONB)


def _json_array(values: list[Any], names: Names | None) -> ColumnElement[Any]:
    """A whole `in` list is one `jsonb[]` parameter, not one parameter per value."""
    texts = _param([json.dumps(v) for v in values], ARRAY(Text), names)
    return cast(texts, ARRAY(JSONB))


def _compare(column: Any, node: ComparisonFilter, names: Names | None) -> ColumnElement[bool]:
    """Parameters in this order, always: the key, then the value (`_collect` agrees)."""
    attr: ColumnElement[Any] = column.op("->")(_param(node.key, String(), names))
    if node.type == "eq":
        return attr == _json(node.value, names)
    if node.type == "ne":
        return and_(attr.is_not(None), attr != _json(node.value, names))
    if node.type in _ORDERING:
        value = _json(node.value, names)
        same_type = func.jsonb_typeof(attr) == func.jsonb_typeof(value)
        return and_(same_type, attr.op(_ORDERING[node.type])(value))
    assert isinstance(node.value, list)
    member = attr == any_(_json_array(node.value, names))
    if node.type == "in":
        return member
    return and_(attr.is_not(None), not_(member))


def compile_filter(
    column: Any, node: Filter | None, names: Names | None = None
) -> ColumnElement[bool]:
    """`column` may be an ORM attribute; building on its Column is several times cheaper.
    With `names`, every key and value is a named parameter (`filter_parameters`)."""
    column = getattr(column, "expression", column)
    if node is None:
        return true()
    if isinstance(node, ComparisonFilter):
        return _compare(column, node, names)
    parts = [compile_filter(column, child, names) for child in node.filters]
    if not parts:
        return true() if node.type == "and" else false()
    return and_(*parts) if node.type == "and" else or_(*parts)


def filter_parameters(node: Filter | None, prefix: str) -> dict[str, Any]:
    """The values `compile_filter(..., Names(prefix))` left out, by name."""
    values: list[Any] = []
    _collect(node, values)
    return {f"{prefix}{n}": value for n, value in enumerate(values)}


def _collect(node: Filter | None, values: list[Any]) -> None:
    if node is None:
        return
    if isinstance(node, ComparisonFilter):
        given = node.value
        value = [json.dumps(v) for v in given] if isinstance(given, list) else json.dumps(given)
        values += [node.key, value]
        return
    for child in node.filters:
        _collect(child, values)


def shape(node: Filter | None) -> Hashable:
    """What a statement built with `Names` depends on: the tree, its comparisons' types
    and the length of their lists; not keys or values."""
    if node is None:
        return None
    if isinstance(node, ComparisonFilter):
        return (node.type, len(node.value) if isinstance(node.value, list) else None)
    return (node.type, tuple(shape(child) for child in node.filters))


@dataclass(frozen=True)
class _Lookup:
    """The part of a filter the attachments' GIN index can answer: containments of
    `(key, value)` objects and of nested lookups, joined by `op`."""

    op: Literal["and", "or"]
    parts: tuple[_Lookup | tuple[str, Any], ...]


def _lookup(node: Filter | None) -> _Lookup | None:
    """A necessary condition of `node` made of containments, or None: an `eq` is one, an
    `in` one per value (ORed); an `and` keeps whichever of its children have one, an
    `or` has one only when every child has."""
    if node is None:
        return None
    if isinstance(node, ComparisonFilter):
        if node.type == "eq":
            return _Lookup("or", ((node.key, node.value),))
        if node.type == "in" and isinstance(node.value, list):
            return _Lookup("or", tuple((node.key, value) for value in node.value))
        return None
    found = [_lookup(child) for child in node.filters]
    kept = tuple(child for child in found if child is not None)
    if not kept or (node.type == "or" and len(kept) < len(found)):
        return None
    return _Lookup(node.type, kept)


def _leaves(lookup: _Lookup) -> Iterator[tuple[str, Any]]:
    """The lookup's objects in the order `containment` names them."""
    for part in lookup.parts:
        yield from _leaves(part) if isinstance(part, _Lookup) else (part,)


def containment(
    column: Any, node: Filter | None, names: Names | None = None
) -> ColumnElement[bool] | None:
    """A necessary condition of `node` that a `jsonb_path_ops` GIN index answers, or None
    when it has none (`ne`, `nin`, ranges, or an `or` with such a branch): each `eq` as
    `column @> {key: value}` (for scalars, containment is JSON equality), each `in` as
    an `or` of one containment per value, joined as the filter joins them (`_lookup`).
    Callers apply it next to the full filter, never instead of it. With `names`:
    `containment_parameters`."""
    lookup = _lookup(node)
    if lookup is None:
        return None
    return _render(getattr(column, "expression", column), lookup, names)


def _render(column: Any, lookup: _Lookup, names: Names | None) -> ColumnElement[bool]:
    parts = [
        _render(column, part, names)
        if isinstance(part, _Lookup)
        else _contains(column, *part, names)
        for part in lookup.parts
    ]
    if not parts:  # `in []`: an `or` of nothing, which holds for no row
        return false() if lookup.op == "or" else true()
    return and_(*parts) if lookup.op == "and" else or_(*parts)


def containment_parameters(node: Filter | None, prefix: str) -> dict[str, Any]:
    """The values `containment(..., Names(prefix))` left out, by name."""
    lookup = _lookup(node)
    objects = [] if lookup is None else [json.dumps({k: v}) for k, v in _leaves(lookup)]
    return {f"{prefix}{n}": text for n, text in enumerate(objects)}


def _contains(column: Any, key: str, value: Any, names: Names | None) -> ColumnElement[bool]:
    """The object is a literal in a statement built once: whether the GIN index or the
    store's btree finds the store's matches cheaper depends on how common the value is,
    which a generic plan (a prepared statement's, after five runs) cannot know."""
    text = json.dumps({key: value})
    given = bindparam(None, text, type_=String())
    param = given if names is None else names.bind(String(), literal=True)
    contains: ColumnElement[bool] = column.op("@>", return_type=Boolean())(cast(param, JSONB))
    return contains
