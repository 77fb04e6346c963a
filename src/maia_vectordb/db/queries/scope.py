"""Tenancy: the single point where a statement is narrowed to one project's rows."""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import InstrumentedAttribute

from maia_vectordb.db.models import ApiKey, File, FileBatch, IngestJob, VectorStore, VectorStoreFile

Owned = TypeVar("Owned", File, VectorStore, VectorStoreFile, FileBatch, IngestJob, ApiKey)


def of_project(model: type[Owned], project_id: uuid.UUID) -> ColumnElement[bool]:
    """The condition every statement over a tenant's rows carries."""
    return model.project_id == project_id


def owned(model: type[Owned], project_id: uuid.UUID) -> Select[Owned]:
    """One tenant's rows of `model`, to be narrowed further."""
    return select(model).where(of_project(model, project_id))


def in_owned_store(
    store_id: InstrumentedAttribute[str], project_id: uuid.UUID
) -> ColumnElement[bool]:
    """For rows with no project column of their own (chunks): their store's project."""
    return store_id.in_(select(VectorStore.id).where(of_project(VectorStore, project_id)))
