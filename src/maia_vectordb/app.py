"""The FastAPI application: built by `create_app(settings)`, never at import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from maia_vectordb import __version__
from maia_vectordb.api import (
    file_batches,
    files,
    health,
    search,
    vector_store_files,
    vector_stores,
)
from maia_vectordb.api import metrics as metrics_api
from maia_vectordb.api.access import AccessMiddleware
from maia_vectordb.api.body_limit import BodyLimitMiddleware
from maia_vectordb.api.errors import install_error_handlers
from maia_vectordb.api.middleware import RequestIdMiddleware
from maia_vectordb.api.openapi import install_openapi
from maia_vectordb.config import Settings
from maia_vectordb.db.bootstrap import (
    STARTUP_DB_TIMEOUT,
    database_url,
    prepare_schema,
    wait_for_database,
)
from maia_vectordb.db.engine import build_engine, build_sessionmaker
from maia_vectordb.embeddings import EmbedderRegistry, LocalModelEmbeddings, build_registry
from maia_vectordb.ingest.chunking import Chunker
from maia_vectordb.ingest.pool import running_workers
from maia_vectordb.ingest.worker import IngestWorker
from maia_vectordb.logging_setup import configure_logging
from maia_vectordb.observability.metrics import Metrics
from maia_vectordb.services import keys
from maia_vectordb.services.auth_gate import AuthGate
from maia_vectordb.state import AppState

log = logging.getLogger(__name__)


@asynccontextmanager
async def worker_lifespan(
    settings: Settings, metrics: Metrics | None = None
) -> AsyncIterator[AppState]:
    """Everything but HTTP: database ready at head, embedder, chunker, running workers."""
    metrics = metrics if metrics is not None else Metrics.build()
    async with contextlib.AsyncExitStack() as stack:
        url = await stack.enter_async_context(database_url(settings))
        await wait_for_database(url, within=STARTUP_DB_TIMEOUT)
        engine = build_engine(settings, url)
        stack.push_async_callback(engine.dispose)
        metrics.pool.watch(engine.sync_engine.pool)
        embedders = build_registry(settings, metrics=metrics)
        stack.push_async_callback(embedders.aclose)
        await prepare_schema(engine, url, embedders.default, embedders.offered)
        await load_default_model(embedders)
        sessionmaker = build_sessionmaker(engine)
        search_sessionmaker = sessionmaker
        if settings.search_database_url is not None:
            search_engine = build_engine(settings, settings.search_database_url)
            stack.push_async_callback(search_engine.dispose)
            search_sessionmaker = build_sessionmaker(search_engine)
        if settings.api_keys is not None:
            async with sessionmaker() as session, session.begin():
                await keys.seed_keys(session, settings.api_keys.get_secret_value())
        state = AppState(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            search_sessionmaker=search_sessionmaker,
            embedders=embedders,
            chunker=await asyncio.to_thread(Chunker),
            auth=AuthGate(sessionmaker),
            metrics=metrics,
        )
        await stack.enter_async_context(running_workers(build_workers(state)))
        yield state


async def load_default_model(embedders: EmbedderRegistry) -> None:
    """The built-in model is found (or downloaded) before serving, so a missing model is
    one line at start, not a failure on the first file."""
    default = embedders.default_embedder
    if isinstance(default, LocalModelEmbeddings):
        await default.load()


def _lifespan(
    settings: Settings, metrics: Metrics
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Resources live exactly as long as the app: built on start, disposed in reverse."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with worker_lifespan(settings, metrics) as state:
            app.state.maia = state
            log.info("app.started")
            yield

    return lifespan


def build_workers(state: AppState) -> list[IngestWorker]:
    return [
        IngestWorker(
            sessionmaker=state.sessionmaker,
            embedders=state.embedders,
            chunker=state.chunker,
            settings=state.settings,
            name=f"ingest-{i}",
            metrics=state.metrics,
        )
        for i in range(state.settings.workers)
    ]


def create_app(settings: Settings) -> FastAPI:
    # Built here, not in the lifespan: the middleware needs it before the app starts.
    metrics = Metrics.build()
    app = FastAPI(
        title="MAIA VectorDB",
        version=__version__,
        summary="OpenAI-compatible vector stores on PostgreSQL + pgvector",
        lifespan=_lifespan(settings, metrics),
    )
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(AccessMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    install_openapi(app)
    routers = (health, metrics_api, files, vector_stores, vector_store_files, file_batches, search)
    for module in routers:
        app.include_router(module.router)
    return app


def create_app_from_env() -> FastAPI:
    """The factory each `serve --workers N` process calls: settings from its environment."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
