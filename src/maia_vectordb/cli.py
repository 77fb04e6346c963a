"""`maia-vectordb serve | migrate`: the one entry point users and containers run."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from maia_vectordb import __version__
from maia_vectordb.config import Settings
from maia_vectordb.db.bootstrap import (
    DatabaseUnavailable,
    database_url,
    prepare_schema,
    wait_for_database,
)
from maia_vectordb.db.embedded import EmbeddedDatabaseError, embedded_postgres
from maia_vectordb.db.engine import build_engine
from maia_vectordb.logging_setup import configure_logging

log = logging.getLogger("maia_vectordb")

STARTUP_DB_TIMEOUT = 10.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="maia-vectordb", description=__doc__)
    parser.add_argument("--version", action="version", version=f"maia-vectordb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API (and ingestion workers)")
    serve.add_argument("--host", default=None, help="bind address (default: HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default: PORT or 8000)")
    sub.add_parser("migrate", help="upgrade the database schema to the latest revision")
    worker = sub.add_parser("worker", help="run ingestion workers only (no HTTP)")
    worker.add_argument(
        "--concurrency", type=int, default=None, help="workers in this process (INGEST_WORKERS)"
    )
    return parser


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        lines = [f"  {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise SystemExit("invalid configuration:\n" + "\n".join(lines)) from None


def _describe(settings: Settings) -> None:
    log.info("database: %s", settings.describe_database())
    provider = settings.resolved_provider
    log.info(
        "embeddings: provider=%s model=%s dimensions=%d",
        provider,
        settings.embedding_model if provider == "openai" else "local-hash",
        settings.embedding_dimensions,
    )
    if provider == "local":
        log.warning(
            "embeddings: no OPENAI_API_KEY, using the offline lexical LocalHashEmbeddings; "
            "search matches words, not meaning"
        )


async def _migrate(settings: Settings) -> None:
    async with database_url(settings) as url:
        await wait_for_database(url, within=STARTUP_DB_TIMEOUT)
        engine = build_engine(settings, url)
        try:
            await prepare_schema(engine, url, settings.embedding_dimensions)
        finally:
            await engine.dispose()
    log.info("migrate: schema is at head")


async def _worker(settings: Settings, concurrency: int) -> None:
    """The app's lifespan without HTTP: same database checks, same workers, until a signal."""
    from maia_vectordb.app import worker_lifespan

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker_lifespan(settings.model_copy(update={"workers": concurrency})):
        log.info("worker: %d ingestion workers running", concurrency)
        await stop.wait()
    log.info("worker: stopped")


def _serve(settings: Settings, host: str, port: int) -> None:
    """Own the embedded server here, outside uvicorn, so start-up faults are one clear line."""
    import uvicorn

    from maia_vectordb.app import create_app

    # A stop signal (also the one uvicorn re-raises after its own shutdown) becomes a
    # normal exit, so the embedded PostgreSQL is always stopped on the way out.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _exit_quietly)
    with contextlib.ExitStack() as stack:
        url = settings.database_url or stack.enter_context(embedded_postgres(settings.pgdata))
        asyncio.run(wait_for_database(url, within=STARTUP_DB_TIMEOUT))
        app = create_app(settings.model_copy(update={"database_url": url}))
        log.info("serve: http://%s:%d (API docs at /docs)", host, port)
        uvicorn.run(app, host=host, port=port, log_config=None, lifespan="on")


def _exit_quietly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    settings = _load_settings()
    configure_logging(settings.log_level)
    _describe(settings)
    try:
        if args.command == "serve":
            _serve(settings, args.host or settings.host, args.port or settings.port)
        elif args.command == "migrate":
            asyncio.run(_migrate(settings))
        elif args.command == "worker":
            asyncio.run(_worker(settings, args.concurrency or max(settings.workers, 1)))
    except (DatabaseUnavailable, EmbeddedDatabaseError) as exc:
        log.error("%s", exc)
        sys.exit(1)
