"""Where deleted list items stood, so a cursor naming one still pages: `list_tombstones`

A list's `after=X` / `before=X` is resolved to X's `(created_at, id)`. The SDKs'
auto-paging passes the last item of the page it yielded, so a loop that deletes what it
lists ("for f in client.files.list(): client.files.delete(f.id)") asked for the page
after an object that no longer existed and got a 400 after the first page. A statement
trigger on each listed table records every deleted row's position, whatever deleted it
(a route, a cascade from a file or a store, the expiry purge): the project's stores and
files, a store's attachments. Attachments that go with their store are not recorded:
their list is gone with it. Housekeeping drops positions a day old
(`db/queries/tombstones.py`).

Revision ID: 20261130_0016
Revises: 20261130_0015
Create Date: 2026-12-01 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261130_0016"
down_revision: str | None = "20261130_0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, trigger function, the rows to record from the statement's deleted rows `gone`)
RECORDERS = (
    (
        "vector_stores",
        "list_tombstones_vector_stores",
        "SELECT 'vector_store', g.project_id::text, g.id, g.created_at FROM gone AS g",
    ),
    (
        "files",
        "list_tombstones_files",
        "SELECT 'file', g.project_id::text, g.id, g.created_at FROM gone AS g",
    ),
    (
        "vector_store_files",
        "list_tombstones_vector_store_files",
        "SELECT 'vector_store_file', g.vector_store_id, g.file_id, g.created_at FROM gone AS g"
        " WHERE EXISTS (SELECT 1 FROM vector_stores AS v WHERE v.id = g.vector_store_id)",
    ),
)


def upgrade() -> None:
    op.create_table(
        "list_tombstones",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "deleted_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("kind", "scope", "id", name="pk_list_tombstones"),
    )
    op.create_index("ix_list_tombstones_deleted_at", "list_tombstones", ["deleted_at"])
    for table, function, rows in RECORDERS:
        op.execute(
            f"""
            CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO list_tombstones (kind, scope, id, created_at)
                {rows}
                ON CONFLICT (kind, scope, id)
                DO UPDATE SET created_at = excluded.created_at, deleted_at = now();
                RETURN NULL;
            END $$
            """
        )
        op.execute(
            f"CREATE TRIGGER list_tombstones AFTER DELETE ON {table} "
            f"REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def downgrade() -> None:
    for table, function, _ in RECORDERS:
        op.execute(f"DROP TRIGGER list_tombstones ON {table}")
        op.execute(f"DROP FUNCTION {function}()")
    op.drop_table("list_tombstones")
