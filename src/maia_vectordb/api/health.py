"""Liveness and readiness, for load balancers and `docker compose` health checks."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from maia_vectordb.api.deps import StateDep
from maia_vectordb.services import health as health_service

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    database: str
    schema_revision: str | None
    expected_revision: str | None
    workers: str


@router.get("/health")
async def liveness() -> Liveness:
    """The process is up and serving HTTP."""
    return Liveness()


@router.get("/health/ready", responses={503: {"model": Readiness}})
async def readiness(state: StateDep) -> JSONResponse:
    """The database answers, its schema is the one this code expects, and the in-process
    ingestion workers are alive and making progress."""
    report = await health_service.readiness(state.engine, state.workers)
    body = Readiness(**report.__dict__)
    return JSONResponse(body.model_dump(), status_code=200 if report.status == "ok" else 503)
