"""`maia-vectordb serve` and `maia-vectordb worker`: the long-running processes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import signal

from maia_vectordb.cli.common import migrated_database
from maia_vectordb.config import Settings
from maia_vectordb.db.bootstrap import STARTUP_DB_TIMEOUT, wait_for_database
from maia_vectordb.db.embedded import embedded_postgres
from maia_vectordb.embeddings.local import model_directory
from maia_vectordb.services import keys

log = logging.getLogger("maia_vectordb")


class InsecureBinding(RuntimeError):
    """Serving beyond loopback with no API key configured."""


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="run the HTTP API (and ingestion workers)")
    serve.add_argument("--host", default=None, help="bind address (default: HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default: PORT or 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="API processes (each also runs INGEST_WORKERS ingestion workers)",
    )
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="allow binding beyond loopback without API keys (anyone can read your data)",
    )
    worker = sub.add_parser("worker", help="run ingestion workers only (no HTTP)")
    worker.add_argument(
        "--concurrency", type=int, default=None, help="workers in this process (INGEST_WORKERS)"
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _check_exposure(settings: Settings, host: str, insecure: bool) -> None:
    """Refuse to expose an open server unless the operator says so explicitly.

    Keys named in MAIA_API_KEYS count as present: the app's lifespan registers them
    before the first request is served."""
    seeded = settings.api_keys is not None and keys.parse_key_spec(
        settings.api_keys.get_secret_value()
    )
    async with migrated_database(settings) as sessionmaker, sessionmaker() as session:
        has_keys = bool(seeded) or await keys.active_key_count(session) > 0
    if has_keys or is_loopback(host):
        return
    if not insecure:
        raise InsecureBinding(
            f"refusing to serve on {host} without API keys: anyone who can reach it could "
            "read and change every document. Create a key (`maia-vectordb keys create`) or "
            "set MAIA_API_KEYS, or pass --insecure if this network is trusted."
        )
    log.warning("serve: --insecure: serving on %s with NO authentication", host)


def serve(settings: Settings, args: argparse.Namespace) -> None:
    """Own the embedded server here, outside uvicorn, so start-up faults are one clear line."""
    import uvicorn

    from maia_vectordb.app import create_app

    host, port = args.host or settings.host, args.port or settings.port
    # A stop signal (also the one uvicorn re-raises after its own shutdown) becomes a
    # normal exit, so the embedded PostgreSQL is always stopped on the way out.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _exit_quietly)
    with contextlib.ExitStack() as stack:
        url = settings.database_url or stack.enter_context(embedded_postgres(settings.pgdata))
        settings = settings.model_copy(update={"database_url": url})
        asyncio.run(wait_for_database(url, within=STARTUP_DB_TIMEOUT))
        asyncio.run(_check_exposure(settings, host, args.insecure))
        if settings.resolved_provider == "local":
            # Found or downloaded once here, before any server process needs it.
            model_directory(settings)
        log.info("serve: http://%s:%d (API docs at /docs)", host, port)
        if args.workers > 1:
            # Each process builds its own app from the environment; they share only
            # PostgreSQL (the data, the job queue), which is what makes them stateless.
            os.environ["DATABASE_URL"] = url
            uvicorn.run(
                "maia_vectordb.app:create_app_from_env",
                factory=True,
                workers=args.workers,
                host=host,
                port=port,
                log_config=None,
                lifespan="on",
            )
        else:
            uvicorn.run(create_app(settings), host=host, port=port, log_config=None, lifespan="on")


def _exit_quietly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


async def worker(settings: Settings, args: argparse.Namespace) -> None:
    """The app's lifespan without HTTP: same database checks, same workers, until a signal."""
    from maia_vectordb.app import worker_lifespan

    concurrency = args.concurrency or max(settings.workers, 1)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker_lifespan(settings.model_copy(update={"workers": concurrency})):
        log.info("worker: %d ingestion workers running", concurrency)
        await stop.wait()
    log.info("worker: stopped")
