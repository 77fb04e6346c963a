"""ingest_jobs.request_id: the id of the request that queued the job

Stored with the job so the worker, in whatever process claims it, can put the same id
on its log lines: one request's upload and its ingestion are then found together.

Revision ID: 20261130_0006
Revises: 20261130_0004
Create Date: 2026-11-30 04:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261130_0006"
down_revision: str | None = "20261130_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ingest_jobs", sa.Column("request_id", sa.String(length=128), nullable=True))


def downgrade() -> None:
    op.drop_column("ingest_jobs", "request_id")
