"""Tenancy: every query a service runs for a client starts here, scoped to one project."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import Select, select

from maia_vectordb.db.models import Base

M = TypeVar("M", bound=Base)


def owned(model: type[M], project_id: uuid.UUID) -> Select[M]:
    """The single point where a query is narrowed to one tenant's rows."""
    column: Any = model.project_id  # type: ignore[attr-defined]
    return select(model).where(column == project_id)
