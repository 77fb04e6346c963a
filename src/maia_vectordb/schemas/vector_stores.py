"""`vector_store` objects and the bodies that create and modify them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictInt

from maia_vectordb.schemas.chunking import ChunkingStrategyParam
from maia_vectordb.schemas.common import FileIds, Metadata, Request, SafeStr


class ExpiresAfter(Request):
    anchor: Literal["last_active_at"]
    days: StrictInt = Field(ge=1, le=365)


class FileCounts(BaseModel):
    in_progress: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    total: int = 0


class VectorStoreObject(BaseModel):
    id: str
    object: Literal["vector_store"] = "vector_store"
    created_at: int
    name: str
    usage_bytes: int
    file_counts: FileCounts
    status: Literal["expired", "in_progress", "completed"]
    expires_after: ExpiresAfter | None
    expires_at: int | None
    last_active_at: int | None
    metadata: dict[str, str] | None
    description: str | None = None
    embedding_model: str
    """Extension: the model this store's files and queries are embedded with."""
    embedding_dimension: int
    """Extension: that model's vector width."""
    embedding_provider: str
    """Extension: `openai` (or a compatible server), `local` (built-in ONNX) or `hash`."""


class VectorStoreCreate(Request):
    name: SafeStr | None = Field(default=None, max_length=256)
    description: SafeStr | None = Field(default=None, max_length=512)
    file_ids: FileIds | None = None
    expires_after: ExpiresAfter | None = None
    chunking_strategy: ChunkingStrategyParam | None = None
    metadata: Metadata = None
    embedding_model: SafeStr | None = Field(default=None, min_length=1, max_length=256)
    """Extension (llama-stack): one of the models this server offers; default: its default."""
    embedding_dimension: StrictInt | None = Field(default=None, ge=1, le=16000)
    """Extension (llama-stack): must equal the chosen model's width."""
    provider_id: SafeStr | None = Field(default=None, max_length=256)
    """Extension (llama-stack): `openai`, `local` or `hash` narrows the model; other values
    (llama-stack's vector-io provider names) are accepted and ignored."""


class VectorStoreUpdate(Request):
    name: SafeStr | None = Field(default=None, max_length=256)
    expires_after: ExpiresAfter | None = None
    metadata: Metadata = None


class VectorStoreDeleted(BaseModel):
    id: str
    object: Literal["vector_store.deleted"] = "vector_store.deleted"
    deleted: bool = True
