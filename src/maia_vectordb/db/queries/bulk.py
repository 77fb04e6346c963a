"""Statements over many rows that stay one statement whatever the number of rows.

A multi-row `insert(Model).values(rows)` is a new statement for every call: SQLAlchemy
builds a bound parameter per value and compiles it afresh, ~0.5 ms of CPU per row of a
500-file batch. An `IN (...)` list is one parameter per value, so each length is a new
statement for SQLAlchemy to render, for the driver to prepare and for PostgreSQL to
plan. Here the rows of an INSERT travel as executemany parameters (compiled once and
cached) and a set of keys as one array parameter (`= ANY($1)`, `IN (SELECT unnest...)`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, String, Table, any_, func, literal, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, Insert, insert
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.types import TypeEngine

from maia_vectordb.db.models import Base


def insert_rows(model: type[Base]) -> Insert:
    """An INSERT into `model`'s table, to run as `session.execute(statement, rows)`."""
    return insert(cast(Table, model.__table__))


def array_of(values: Sequence[Any], item: TypeEngine[Any]) -> ColumnElement[Any]:
    """`values` as one array parameter."""
    return literal(list(values), ARRAY(item))


def is_any(column: InstrumentedAttribute[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """`column = ANY($1)`: the array counterpart of `column.in_(values)`."""
    return column == any_(array_of(values, column.type))


def pair_in(
    first: InstrumentedAttribute[str],
    second: InstrumentedAttribute[str],
    pairs: Sequence[tuple[str, str]],
) -> ColumnElement[bool]:
    """`(first, second) IN (SELECT unnest($1), unnest($2))`: two arrays, zipped."""
    lefts = array_of([p[0] for p in pairs], String())
    rights = array_of([p[1] for p in pairs], String())
    return tuple_(first, second).in_(select(func.unnest(lefts), func.unnest(rights)))
