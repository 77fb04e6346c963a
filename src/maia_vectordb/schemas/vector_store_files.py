"""`vector_store.file`, `vector_store.files_batch` and the file content page."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from maia_vectordb.schemas.chunking import ChunkingStrategyParam, StaticStrategyOut
from maia_vectordb.schemas.common import Attributes, FileIds, Identifier, Request
from maia_vectordb.schemas.vector_stores import FileCounts

FileStatus = Literal["in_progress", "completed", "cancelled", "failed"]


class LastError(BaseModel):
    code: Literal["server_error", "unsupported_file", "invalid_file"]
    message: str


class VectorStoreFileObject(BaseModel):
    id: str
    object: Literal["vector_store.file"] = "vector_store.file"
    usage_bytes: int
    created_at: int
    vector_store_id: str
    status: FileStatus
    last_error: LastError | None
    chunking_strategy: StaticStrategyOut
    attributes: dict[str, Any] | None


class VectorStoreFileCreate(Request):
    file_id: Identifier
    attributes: Attributes = None
    chunking_strategy: ChunkingStrategyParam | None = None


class VectorStoreFileUpdate(Request):
    attributes: Attributes


class VectorStoreFileDeleted(BaseModel):
    id: str
    object: Literal["vector_store.file.deleted"] = "vector_store.file.deleted"
    deleted: bool = True


class BatchFile(Request):
    file_id: Identifier
    attributes: Attributes = None
    chunking_strategy: ChunkingStrategyParam | None = None


class FileBatchCreate(Request):
    file_ids: FileIds | None = None
    files: list[BatchFile] | None = Field(default=None, max_length=500)
    attributes: Attributes = None
    chunking_strategy: ChunkingStrategyParam | None = None


class FileBatchObject(BaseModel):
    id: str
    object: Literal["vector_store.files_batch"] = "vector_store.files_batch"
    created_at: int
    vector_store_id: str
    status: FileStatus
    file_counts: FileCounts


class ContentPart(BaseModel):
    type: Literal["text"] = "text"
    text: str


class FileContentPage(BaseModel):
    object: Literal["vector_store.file_content.page"] = "vector_store.file_content.page"
    data: list[ContentPart]
    has_more: bool = False
    next_page: str | None = None
