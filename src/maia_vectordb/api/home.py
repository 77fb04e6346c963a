"""`GET /`: where a person who opens the server's address in a browser should go next."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from maia_vectordb import __version__

router = APIRouter(tags=["health"])


class ServiceIndex(BaseModel):
    name: str = "MAIA VectorDB"
    version: str = __version__
    api: str = "/v1"
    docs: str = "/docs"
    redoc: str = "/redoc"
    openapi: str = "/openapi.json"
    health: str = "/health"
    ready: str = "/health/ready"


@router.get("/")
async def index() -> ServiceIndex:
    """Links to the API reference and the health checks; the API itself is under /v1."""
    return ServiceIndex()
