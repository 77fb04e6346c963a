"""INSERTs of many rows whose rows travel as parameters (executemany).

A multi-row `insert(Model).values(rows)` is a new statement for every call: SQLAlchemy
builds a bound parameter per value and compiles it afresh, ~0.5 ms of CPU per row of a
500-file batch. A Core INSERT given the rows as parameters is compiled once and cached,
and the driver sends the rows in a few multi-row statements of its own.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import Insert, insert

from maia_vectordb.db.models import Base


def insert_rows(model: type[Base]) -> Insert:
    """An INSERT into `model`'s table, to run as `session.execute(statement, rows)`."""
    return insert(cast(Table, model.__table__))
