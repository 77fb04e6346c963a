"""HNSW per large store, built in one pass, instead of per width; vectors kept in the row

Revision ID: 20261130_0007
Revises: 20261130_0006
Create Date: 2026-11-30 08:00:00

The per-width indexes made every chunk insert walk one graph of the whole table
(~9 ms of PostgreSQL CPU per 1536-d row). They are dropped; the index builder
(`ingest/indexer.py`) gives each store of at least `VECTOR_INDEX_MIN_CHUNKS` chunks
its own index, built concurrently once the store's queue is empty, and until then
the store is searched exactly. An upgraded deployment's large stores are therefore
searched exactly for the minutes their first builds take.

Vectors stay in the heap row (`STORAGE MAIN`, `toast_tuple_target` 8160): an exact
search then reads each candidate's vector from its row instead of from TOAST, about
3x cheaper per row. Rows written before this revision move when they are rewritten
(`VACUUM FULL file_chunks` moves them all, under an exclusive lock).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261130_0007"
down_revision: str | None = "20261130_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WIDTH_INDEX_PREFIX = "ix_file_chunks_embedding_hnsw_"
STORE_INDEX_PREFIX = "ix_file_chunks_hnsw_"


def _indexes(prefix: str) -> list[str]:
    rows = op.get_bind().execute(
        sa.text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'file_chunks' "
            "AND schemaname = current_schema() AND starts_with(indexname, :prefix)"
        ),
        {"prefix": prefix},
    )
    return [name for (name,) in rows]


def upgrade() -> None:
    for name in _indexes(WIDTH_INDEX_PREFIX):
        op.execute(f'DROP INDEX IF EXISTS "{name}"')
    op.execute("ALTER TABLE file_chunks ALTER COLUMN embedding SET STORAGE MAIN")
    op.execute("ALTER TABLE file_chunks SET (toast_tuple_target = 8160)")


def downgrade() -> None:
    """Back to one index per width present; the store indexes go with the builder."""
    for name in _indexes(STORE_INDEX_PREFIX):
        op.execute(f'DROP INDEX IF EXISTS "{name}"')
    op.execute("ALTER TABLE file_chunks RESET (toast_tuple_target)")
    op.execute("ALTER TABLE file_chunks ALTER COLUMN embedding SET STORAGE EXTERNAL")
    widths = op.get_bind().execute(sa.text("SELECT DISTINCT embedding_dim FROM file_chunks"))
    for (width,) in widths:
        op.execute(
            f"CREATE INDEX IF NOT EXISTS {WIDTH_INDEX_PREFIX}{int(width)} ON file_chunks "
            f"USING hnsw ((embedding::halfvec({int(width)})) halfvec_cosine_ops) "
            f"WITH (m = 16, ef_construction = 64) WHERE embedding_dim = {int(width)}"
        )
