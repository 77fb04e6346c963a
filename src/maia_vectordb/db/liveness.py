"""Expiry on the database clock: a file past its `expires_at` is gone for clients at once.

The purge deletes such files later (once a minute); until then every read that
shows files (lookups, listings, counts, search candidates) filters them here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select

from maia_vectordb.db.models import File


def is_live() -> ColumnElement[bool]:
    """The `files` row in scope has not expired."""
    return or_(File.expires_at.is_(None), File.expires_at > func.now())


def file_is_live(file_id: Any) -> ColumnElement[bool]:
    """The file behind a column of file ids (chunks, attachments) has not expired."""
    return exists(select(File.id).where(File.id == file_id, is_live()))
