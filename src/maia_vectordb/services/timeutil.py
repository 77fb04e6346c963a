"""Timestamps on the wire are Unix seconds."""

from __future__ import annotations

from datetime import UTC, datetime


def unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def unix_required(moment: datetime) -> int:
    return int(moment.timestamp())


def utcnow() -> datetime:
    return datetime.now(UTC)
