"""ORM models: the tables of design.md, the single source autogenerate compares against."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import HALFVEC
from sqlalchemy import (
    BigInteger,
    Computed,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

DEFAULT_PROJECT_ID = uuid.UUID("00000000-0000-0000-0000-000000000001")


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = _now()


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    prefix: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = _now()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class File(Base):
    """An uploaded file; its bytes live in `file_parts` so uploads stream to disk."""

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(32))
    bytes: Mapped[int] = mapped_column(BigInteger, server_default="0")
    sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), server_default="uploaded")
    created_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index(None, "project_id", "created_at", "id"),)


class FilePart(Base):
    __tablename__ = "file_parts"

    file_id: Mapped[str] = mapped_column(
        ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class VectorStore(Base):
    __tablename__ = "vector_stores"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column(
        "metadata", JSONB, server_default=text("'{}'::jsonb")
    )
    created_at: Mapped[datetime] = _now()
    last_active_at: Mapped[datetime] = _now()
    expires_after_days: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The model its files and queries are embedded with, fixed at creation.
    embedding_provider: Mapped[str] = mapped_column(String(32))
    embedding_model: Mapped[str] = mapped_column(String(256))
    embedding_dimensions: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index(None, "project_id", "created_at", "id"),)


class FileBatch(Base):
    __tablename__ = "file_batches"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    vector_store_id: Mapped[str] = mapped_column(
        ForeignKey("vector_stores.id", ondelete="CASCADE"), index=True
    )
    cancelled: Mapped[bool] = mapped_column(server_default=text("false"))
    created_at: Mapped[datetime] = _now()


class VectorStoreFile(Base):
    """A file attached to a store: the unit that ingestion turns into chunks."""

    __tablename__ = "vector_store_files"

    vector_store_id: Mapped[str] = mapped_column(
        ForeignKey("vector_stores.id", ondelete="CASCADE"), primary_key=True
    )
    file_id: Mapped[str] = mapped_column(
        ForeignKey("files.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), server_default="in_progress")
    usage_bytes: Mapped[int] = mapped_column(BigInteger, server_default="0")
    last_error: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    chunking_strategy: Mapped[dict[str, Any]] = mapped_column(JSONB)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    content: Mapped[str | None] = mapped_column(Text, deferred=True)
    created_at: Mapped[datetime] = _now()

    __table_args__ = (
        Index(None, "vector_store_id", "created_at", "file_id"),
        Index(None, "file_id"),
        # Equality filters find a store's matching attachments here (db/filtered_search.py).
        Index(
            "ix_vector_store_files_attributes",
            "attributes",
            postgresql_using="gin",
            postgresql_ops={"attributes": "jsonb_path_ops"},
            postgresql_where=text("attributes IS NOT NULL"),
        ),
    )


class ListTombstone(Base):
    """Where a deleted store, file or attachment stood in its list (migration
    20261130_0016), so `after=`/`before=` naming it still pages: the SDK's auto-paging
    passes the last item it yielded, which a "list and delete" loop has just deleted.
    Written by delete triggers (every path, cascades included), kept a day
    (`db/queries/tombstones.py`). `kind` is the list; `scope` its parent: the project
    for stores and files, the store for attachments."""

    __tablename__ = "list_tombstones"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime] = _now()

    __table_args__ = (Index(None, "deleted_at"),)


class FileBatchFile(Base):
    """A batch's own members: a later batch re-sending the same files leaves them in
    place, and detaching a file (the attachment row goes) drops it from every batch."""

    __tablename__ = "file_batch_files"

    batch_id: Mapped[str] = mapped_column(
        ForeignKey("file_batches.id", ondelete="CASCADE"), primary_key=True
    )
    vector_store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    file_id: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (
        ForeignKeyConstraint(
            ["vector_store_id", "file_id"],
            ["vector_store_files.vector_store_id", "vector_store_files.file_id"],
            ondelete="CASCADE",
        ),
        Index(None, "vector_store_id", "file_id"),
    )


class FileChunk(Base):
    """One embedded piece of a file; search reads only this table plus its store's files.

    `embedding` has no fixed width (stores use different models) and stays in the row
    (`STORAGE MAIN`, migration 20261130_0007). A large store's HNSW index is partial on
    the store and its width; the index builder makes it (db/vector_indexes.py).
    """

    __tablename__ = "file_chunks"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    vector_store_id: Mapped[str] = mapped_column(String(64))
    file_id: Mapped[str] = mapped_column(String(64))
    chunk_index: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    token_count: Mapped[int] = mapped_column(Integer)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    embedding: Mapped[Any] = mapped_column(HALFVEC())
    embedding_dim: Mapped[int] = mapped_column(
        Integer, Computed("vector_dims(embedding)", persisted=True)
    )
    tsv: Mapped[Any] = mapped_column(
        TSVECTOR, Computed("to_tsvector('english', text)", persisted=True)
    )

    __table_args__ = (
        ForeignKeyConstraint(
            ["vector_store_id", "file_id"],
            ["vector_store_files.vector_store_id", "vector_store_files.file_id"],
            ondelete="CASCADE",
        ),
        Index(None, "vector_store_id", "file_id", "chunk_index"),
    )


class Bm25Posting(Base):
    """One term of one chunk, for BM25: the store's inverted index.

    Removed by triggers on `file_chunks` in the statement that deletes the chunks; written
    from `Bm25Pending` after a store's load (since migration 20261130_0015; before it,
    by the insert trigger), so a chunk's postings and pending row never coexist. A term's
    document frequency is the number of its postings in the store, counted when searched.
    The key is three integers, cheap to insert into: the store's `Bm25Store.key` and the
    term as `bm25_term(lexeme)`, a 64-bit hash.
    """

    __tablename__ = "bm25_postings"

    store_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    term: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    chunk_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tf: Mapped[int] = mapped_column(Integer)
    length: Mapped[int] = mapped_column(Integer)


class Bm25Pending(Base):
    """A chunk whose postings are not written yet (migration 20261130_0015): its store's
    key and its BM25 length. The insert trigger records every new chunk here instead of
    writing its ~240 postings in the COPY; `bm25_post_pending` moves a slice of a store's
    pending chunks into `Bm25Posting` later (ingest/keyword_indexer.py), in one
    statement, so a chunk is always in exactly one of the two. Search scores a pending
    chunk from its stored tsvector (db/bm25.py), exactly as its postings would."""

    __tablename__ = "bm25_pending"

    store_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    chunk_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    length: Mapped[int] = mapped_column(Integer)


class Bm25DroppedKey(Base):
    """A deleted store's `Bm25Store.key` whose postings are still to be deleted
    (migration 20261130_0017): a store's delete leaves them, by key, to the keyword
    indexer (`bm25_purge_dropped`), rather than looking each up. No search reads them:
    keyword search reaches postings through a live store's row, and keys are not reused."""

    __tablename__ = "bm25_dropped_keys"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class Bm25Store(Base):
    """A store's chunk count and total chunk length (BM25's N and avgdl), kept by the same
    triggers with additive upserts so concurrent writers never lose an update; `key` is
    the store's number in `Bm25Posting` (a new one if the store empties and refills)."""

    __tablename__ = "bm25_stores"

    vector_store_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    chunks: Mapped[int] = mapped_column(BigInteger)
    length: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[int] = mapped_column(BigInteger, Identity(always=False), unique=True)


class IngestJob(Base):
    """A durable unit of ingestion work, leased with SKIP LOCKED and kept alive by heartbeat."""

    __tablename__ = "ingest_jobs"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    vector_store_id: Mapped[str] = mapped_column(String(64))
    file_id: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    run_after: Mapped[datetime] = _now()
    leased_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(128))
    """The `x-request-id` of the request that queued the job, for the worker's log lines."""
    created_at: Mapped[datetime] = _now()

    __table_args__ = (
        ForeignKeyConstraint(
            ["vector_store_id", "file_id"],
            ["vector_store_files.vector_store_id", "vector_store_files.file_id"],
            ondelete="CASCADE",
        ),
        Index(None, "vector_store_id", "file_id", unique=True),
        Index(None, "run_after"),
    )
