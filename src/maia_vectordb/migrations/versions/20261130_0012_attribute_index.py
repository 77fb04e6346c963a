"""A GIN index on attachments' attributes: selective filters answered from their few files

Revision ID: 20261130_0012
Revises: 20261130_0008
Create Date: 2026-11-30 16:30:00

A filtered vector search walked the store's HNSW graph until enough chunks passed the
filter: a filter keeping 1 % of a 23,750-chunk store cost ~21 ms of PostgreSQL CPU.
Chunks carry a copy of their attachment's attributes (both change in one transaction),
so an equality filter can first find the store's matching attachments through this
index (one row per attached file: cheap to keep up at ingest) and, when they hold few
chunks, rank those exactly (`db/filtered_search.py`). `jsonb_path_ops` answers `@>`,
which is what equality filters compile to for it; attachments without attributes are
left out of the index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261130_0012"
down_revision: str | None = "20261130_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_vector_store_files_attributes"


def upgrade() -> None:
    op.create_index(
        INDEX,
        "vector_store_files",
        ["attributes"],
        postgresql_using="gin",
        postgresql_ops={"attributes": "jsonb_path_ops"},
        postgresql_where=sa.text("attributes IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="vector_store_files")
