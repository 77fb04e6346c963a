"""an embedding model per vector store: stores record it, chunks of any width, HNSW per width

Revision ID: 20261130_0005
Revises: 20261130_0002
Create Date: 2026-11-30 02:50:00

Existing stores are recorded as built with the model the server is configured with
when it migrates. Before this revision `EMBEDDING_PROVIDER=local` (or no key) meant
the lexical hashing embedder, now called `hash`, so such stores are recorded as
`hash` at the width their chunks have. The old single HNSW index becomes one partial
expression index per width; the table is rewritten under an exclusive lock either
way (new generated column), so building the index without CONCURRENTLY costs no
extra availability.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import HALFVEC

revision: str = "20261130_0005"
down_revision: str | None = "20261130_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOCAL_DIMENSIONS = 384
OLD_INDEX = "ix_file_chunks_embedding_hnsw"
# Frozen here: revision 20261130_0007 replaces these per-width indexes with per-store ones.
WIDTH_INDEX_PREFIX = "ix_file_chunks_embedding_hnsw_"


def index_name(dimensions: int) -> str:
    return f"{WIDTH_INDEX_PREFIX}{dimensions}"


def create_indexes(connection: sa.engine.Connection, dimensions: set[int]) -> None:
    for width in sorted(dimensions):
        connection.execute(
            sa.text(
                f"CREATE INDEX IF NOT EXISTS {index_name(int(width))} ON file_chunks "
                f"USING hnsw ((embedding::halfvec({int(width)})) halfvec_cosine_ops) "
                f"WITH (m = 16, ef_construction = 64) WHERE embedding_dim = {int(width)}"
            )
        )


def _configured() -> tuple[str, str, int]:
    attributes = op.get_context().config.attributes  # type: ignore[union-attr]
    return (
        str(attributes.get("embedding_provider", "openai")),
        str(attributes.get("embedding_model", "text-embedding-3-small")),
        int(attributes.get("embedding_dimensions", 1536)),
    )


def _existing_width(default: int) -> int:
    """The width the chunk column was created with (halfvec's typmod)."""
    width = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT atttypmod FROM pg_attribute "
                "WHERE attrelid = 'file_chunks'::regclass AND attname = 'embedding'"
            )
        )
        .scalar()
    )
    return int(width) if width is not None and width > 0 else default


COLUMNS = (
    ("embedding_provider", sa.String(length=32)),
    ("embedding_model", sa.String(length=256)),
    ("embedding_dimensions", sa.Integer()),
)


def _record_existing_stores(width: int) -> None:
    provider, model, _ = _configured()
    if provider != "openai":
        provider, model = "hash", "hash"
    for column, kind in COLUMNS:
        op.add_column("vector_stores", sa.Column(column, kind, nullable=True))
    op.execute(
        sa.text(
            "UPDATE vector_stores SET embedding_provider = :provider, "
            "embedding_model = :model, embedding_dimensions = :width"
        ).bindparams(provider=provider, model=model, width=width)
    )
    for column, _kind in COLUMNS:
        op.alter_column("vector_stores", column, nullable=False)


def upgrade() -> None:
    _, _, configured_width = _configured()
    width = _existing_width(configured_width)
    _record_existing_stores(width)
    op.drop_index(OLD_INDEX, table_name="file_chunks")
    op.alter_column("file_chunks", "embedding", type_=HALFVEC(), existing_nullable=False)
    op.add_column(
        "file_chunks",
        sa.Column(
            "embedding_dim",
            sa.Integer(),
            sa.Computed("vector_dims(embedding)", persisted=True),
            nullable=False,
        ),
    )
    create_indexes(op.get_bind(), {width, configured_width, LOCAL_DIMENSIONS})


def downgrade() -> None:
    """Only possible while every chunk has the configured width."""
    _, _, width = _configured()
    widths = op.get_bind().execute(sa.text("SELECT DISTINCT embedding_dim FROM file_chunks"))
    for (existing,) in widths:
        op.execute(f"DROP INDEX IF EXISTS {index_name(int(existing))}")
    for dimensions in {width, LOCAL_DIMENSIONS}:
        op.execute(f"DROP INDEX IF EXISTS {index_name(dimensions)}")
    op.drop_column("file_chunks", "embedding_dim")
    op.alter_column("file_chunks", "embedding", type_=HALFVEC(width), existing_nullable=False)
    op.create_index(
        OLD_INDEX,
        "file_chunks",
        ["embedding"],
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "halfvec_cosine_ops"},
    )
    for column in ("embedding_dimensions", "embedding_model", "embedding_provider"):
        op.drop_column("vector_stores", column)
