"""`maia-vectordb serve` and `maia-vectordb worker`: the long-running processes.

The runtime and the app are imported when a command runs, not when its options are parsed."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from maia_vectordb.config import Settings

log = logging.getLogger("maia_vectordb")


class InsecureBinding(RuntimeError):
    """Serving beyond loopback with no API key configured."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve this process's Prometheus metrics at http://HOST:PORT/metrics (default: off)",
    )


async def _prepare(settings: Settings, host: str, insecure: bool) -> None:
    """Migrate once here, in the parent, before any API process starts; then refuse to
    expose an open server unless the operator says so explicitly.

    Keys named in MAIA_API_KEYS count as present: the app's lifespan registers them
    before the first request is served."""
    from maia_vectordb.config import is_loopback
    from maia_vectordb.key_spec import parse_key_spec
    from maia_vectordb.runtime import open_database
    from maia_vectordb.services import keys

    api_keys = settings.http.api_keys
    seeded = api_keys is not None and parse_key_spec(api_keys.get_secret_value())
    async with open_database(settings) as db, db.sessionmaker() as session:
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
    from maia_vectordb.cli.common import with_options
    from maia_vectordb.runtime import hosted_database

    # The app checks Host headers and decides open vs keyed mode from where it is bound.
    settings = with_options(
        settings,
        HOST=args.host or settings.http.host,
        PORT=args.port or settings.http.port,
        MAIA_INSECURE=args.insecure,
    )
    host, port = settings.http.host, settings.http.port
    # A stop signal (also the one uvicorn re-raises after its own shutdown) becomes a
    # normal exit, so the embedded PostgreSQL is always stopped on the way out.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _exit_quietly)
    with hosted_database(settings) as settings:
        asyncio.run(_prepare(settings, host, args.insecure))
        if settings.embeddings.resolved_provider == "local":
            from maia_vectordb.embeddings.local import model_directory

            # Found or downloaded once here, before any server process needs it.
            model_directory(settings.embeddings)
        log.info("serve: http://%s:%d (API docs at /docs)", host, port)
        if args.workers > 1:
            # Each process builds its own app from the environment; they share only
            # PostgreSQL (the data, the job queue), which is what makes them stateless.
            # The schema is at head already, so their runtimes only check it.
            from maia_vectordb.observability import multiprocess

            multiprocess.prepare(settings.database.data_dir)
            os.environ.update(
                DATABASE_URL=str(settings.database.url),
                HOST=host,
                PORT=str(port),
                MAIA_INSECURE=str(args.insecure),
            )
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
    """The app's runtime without HTTP: same database checks, same workers, until a signal."""
    from maia_vectordb.cli.common import with_options
    from maia_vectordb.db.priority import lower_own_priority
    from maia_vectordb.runtime import open_runtime

    concurrency = args.concurrency or max(settings.ingest.workers, 1)
    settings = with_options(settings, INGEST_WORKERS=concurrency)
    niceness = settings.ingest.worker_nice
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with open_runtime(settings, backend_nice=niceness) as state:
        lower_own_priority(niceness)
        with _worker_metrics(state.metrics.registry, settings.http.host, args.metrics_port):
            log.info("worker: %d ingestion workers running", concurrency)
            await stop.wait()
    log.info("worker: stopped")


@contextlib.contextmanager
def _worker_metrics(registry: CollectorRegistry, host: str, port: int | None) -> Iterator[None]:
    if port is None:
        yield
        return
    from maia_vectordb.observability.exposition import metrics_server

    with metrics_server(registry, host=host, port=port) as bound:
        log.info("worker: metrics at http://%s:%d/metrics", host, bound)
        yield
