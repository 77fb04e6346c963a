"""`GET /metrics`: Prometheus text exposition for this process.

Unauthenticated (scrapers rarely carry keys) and absent from the OpenAPI document;
it exposes counts and timings, never tenant data. Restrict it at the network edge
if request volumes per route are sensitive.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from maia_vectordb.api.deps import StateDep
from maia_vectordb.db.queries import jobs, keyword_index
from maia_vectordb.observability import multiprocess
from maia_vectordb.observability.errors import describe_error
from maia_vectordb.state import AppState

log = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])

# Well inside Prometheus' default 10 s scrape timeout: a slow database must not
# cost the scrape every other metric.
QUEUE_DEPTH_TIMEOUT = 2.0


async def refresh_backlogs(state: AppState) -> None:
    """Two counts, read per scrape: jobs queued and chunks waiting for their keyword
    postings; on failure the gauges keep their last values."""
    try:
        async with asyncio.timeout(QUEUE_DEPTH_TIMEOUT), state.sessionmaker() as session:
            depth = await jobs.depth(session)
            pending = await keyword_index.pending_total(session)
    except (OSError, SQLAlchemyError) as exc:  # TimeoutError is an OSError
        log.warning("metrics.queue_depth.unavailable", extra=describe_error(exc))
        return
    state.metrics.ingest.queue_depth.set(depth)
    state.metrics.ingest.keyword_pending.set(pending)


@router.get("/metrics", include_in_schema=False)
async def metrics(state: StateDep) -> Response:
    """Prometheus metrics; gauges that need the database are read now, at scrape time."""
    await refresh_backlogs(state)
    body = multiprocess.exposition(state.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
