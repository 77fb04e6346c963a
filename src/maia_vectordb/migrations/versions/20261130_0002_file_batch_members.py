"""file batches keep their own members: file_batch_files replaces vector_store_files.batch_id

A file belonged to at most one batch (the last one to send it), so a later batch
re-sending the same files emptied an earlier one. Existing memberships move over.

Revision ID: 20261130_0002
Revises: 20261123_0001
Create Date: 2026-11-30 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261130_0002"
down_revision: str | None = "20261123_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "file_batch_files",
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("vector_store_id", sa.String(length=64), nullable=False),
        sa.Column("file_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["file_batches.id"],
            name=op.f("fk_file_batch_files_batch_id_file_batches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vector_store_id", "file_id"],
            ["vector_store_files.vector_store_id", "vector_store_files.file_id"],
            name=op.f("fk_file_batch_files_vector_store_id_vector_store_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "batch_id", "vector_store_id", "file_id", name=op.f("pk_file_batch_files")
        ),
    )
    op.create_index(
        op.f("ix_file_batch_files_vector_store_id_file_id"),
        "file_batch_files",
        ["vector_store_id", "file_id"],
        unique=False,
    )
    op.execute(
        "INSERT INTO file_batch_files (batch_id, vector_store_id, file_id) "
        "SELECT batch_id, vector_store_id, file_id FROM vector_store_files "
        "WHERE batch_id IS NOT NULL"
    )
    op.drop_index(op.f("ix_vector_store_files_batch_id"), table_name="vector_store_files")
    op.drop_constraint(
        op.f("fk_vector_store_files_batch_id_file_batches"),
        "vector_store_files",
        type_="foreignkey",
    )
    op.drop_column("vector_store_files", "batch_id")


def downgrade() -> None:
    op.add_column("vector_store_files", sa.Column("batch_id", sa.String(length=64), nullable=True))
    op.create_foreign_key(
        op.f("fk_vector_store_files_batch_id_file_batches"),
        "vector_store_files",
        "file_batches",
        ["batch_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(
        op.f("ix_vector_store_files_batch_id"), "vector_store_files", ["batch_id"], unique=False
    )
    op.execute(
        "UPDATE vector_store_files v SET batch_id = m.batch_id FROM ("
        " SELECT DISTINCT ON (f.vector_store_id, f.file_id) f.vector_store_id, f.file_id,"
        " f.batch_id FROM file_batch_files f JOIN file_batches b ON b.id = f.batch_id"
        " ORDER BY f.vector_store_id, f.file_id, b.created_at DESC) m"
        " WHERE v.vector_store_id = m.vector_store_id AND v.file_id = m.file_id"
    )
    op.drop_index(
        op.f("ix_file_batch_files_vector_store_id_file_id"), table_name="file_batch_files"
    )
    op.drop_table("file_batch_files")
