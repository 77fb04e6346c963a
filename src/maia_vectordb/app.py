"""The FastAPI application: built by `create_app(settings)`, never at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from maia_vectordb import __version__
from maia_vectordb.api import (
    file_batches,
    files,
    health,
    home,
    search,
    vector_store_files,
    vector_stores,
)
from maia_vectordb.api import metrics as metrics_api
from maia_vectordb.api.access import AccessMiddleware
from maia_vectordb.api.body_limit import BodyLimitMiddleware
from maia_vectordb.api.errors import install_error_handlers
from maia_vectordb.api.files import MULTIPART_OVERHEAD
from maia_vectordb.api.guard import GuardMiddleware
from maia_vectordb.api.middleware import RequestIdMiddleware
from maia_vectordb.api.openapi import install_openapi
from maia_vectordb.config import Settings
from maia_vectordb.logging_setup import configure_logging
from maia_vectordb.observability.metrics import Metrics
from maia_vectordb.runtime import Database, open_runtime

log = logging.getLogger(__name__)


def _lifespan(
    settings: Settings, metrics: Metrics, database: Database | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Resources live exactly as long as the app: built on start, disposed in reverse."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(settings, metrics=metrics, database=database) as state:
            app.state.maia = state
            log.info("app.started")
            yield

    return lifespan


def create_app(settings: Settings, *, database: Database | None = None) -> FastAPI:
    """`database`: one the caller already holds (see `runtime.open_runtime`); by default
    the lifespan opens its own."""
    # Built here, not in the lifespan: the middleware needs it before the app starts.
    metrics = Metrics.build()
    # The /docs and /redoc pages load their scripts from the package, never a CDN.
    app = FastAPIOffline(
        title="MAIA VectorDB",
        version=__version__,
        summary="OpenAI-compatible vector stores on PostgreSQL + pgvector",
        lifespan=_lifespan(settings, metrics, database),
    )
    # Outermost last: the guard answers 401/403 before the body limit reads a byte.
    app.add_middleware(
        BodyLimitMiddleware,
        upload_limit=settings.http.max_upload_bytes + MULTIPART_OVERHEAD,
        idle_timeout=settings.http.body_idle_timeout,
        total_timeout=settings.http.body_timeout,
    )
    app.add_middleware(GuardMiddleware, settings=settings.http)
    app.add_middleware(AccessMiddleware, metrics=metrics)
    app.add_middleware(RequestIdMiddleware)
    install_error_handlers(app)
    install_openapi(app)
    # Matched in this order, router by router: search, the hottest route, comes first,
    # then uploads, which many small files make the next hottest (no other route matches
    # their paths, so the order changes only the cost).
    routers = (
        search,
        files,
        home,
        health,
        metrics_api,
        vector_stores,
        vector_store_files,
        file_batches,
    )
    for module in routers:
        app.include_router(module.router)
    return app


def create_app_from_env() -> FastAPI:
    """The factory each `serve --workers N` process calls: settings from its environment."""
    settings = Settings()
    configure_logging(settings.log.level, settings.log.format)
    return create_app(settings)
