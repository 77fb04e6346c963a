"""BM25: a per-store inverted index of chunk terms and per-store N / total length

Triggers on file_chunks keep both exact in the statement that writes or deletes the
chunks (COPY and cascaded deletes included); the GIN index on the tsvector goes, since
keyword search now reads the postings. The upgrade backfills both from existing chunks.

Revision ID: 20261130_0004
Revises: 20261130_0005
Create Date: 2026-11-30 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261130_0004"
down_revision: str | None = "20261130_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A chunk's length for BM25 is its number of indexed terms (positions; stop words excluded).
LENGTH_FUNCTION = """
CREATE FUNCTION bm25_length(tsv tsvector) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (SELECT coalesce(sum(coalesce(array_length(t.positions, 1), 1)), 0)::integer
        FROM unnest(tsv) AS t)
"""

# Each chunk's length is computed once (not once per term: that was quadratic), and
# stores are upserted in a fixed order, so two writers lock bm25_stores rows alike.
INSERTED_FUNCTION = """
CREATE FUNCTION bm25_chunks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH c AS MATERIALIZED (
        SELECT n.vector_store_id, n.id, n.tsv, bm25_length(n.tsv) AS length FROM new_chunks AS n
    )
    INSERT INTO bm25_postings (vector_store_id, term, chunk_id, tf, length)
    SELECT c.vector_store_id, t.lexeme, c.id, coalesce(array_length(t.positions, 1), 1), c.length
    FROM c CROSS JOIN LATERAL unnest(c.tsv) AS t;
    INSERT INTO bm25_stores AS s (vector_store_id, chunks, length)
    SELECT n.vector_store_id, count(*), sum(bm25_length(n.tsv))
    FROM new_chunks AS n GROUP BY n.vector_store_id ORDER BY n.vector_store_id
    ON CONFLICT (vector_store_id) DO UPDATE
        SET chunks = s.chunks + EXCLUDED.chunks, length = s.length + EXCLUDED.length;
    RETURN NULL;
END $$
"""

DELETED_FUNCTION = """
CREATE FUNCTION bm25_chunks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM bm25_postings AS p
    USING old_chunks AS o CROSS JOIN LATERAL unnest(o.tsv) AS t
    WHERE p.vector_store_id = o.vector_store_id AND p.term = t.lexeme AND p.chunk_id = o.id;
    UPDATE bm25_stores AS s
    SET chunks = s.chunks - d.chunks, length = s.length - d.length
    FROM (SELECT o.vector_store_id, count(*) AS chunks, sum(bm25_length(o.tsv)) AS length
          FROM old_chunks AS o GROUP BY o.vector_store_id ORDER BY o.vector_store_id) AS d
    WHERE s.vector_store_id = d.vector_store_id;
    DELETE FROM bm25_stores AS s
    WHERE s.chunks <= 0 AND s.vector_store_id IN (SELECT vector_store_id FROM old_chunks);
    RETURN NULL;
END $$
"""

TRIGGERS = """
CREATE TRIGGER bm25_chunks_inserted AFTER INSERT ON file_chunks
    REFERENCING NEW TABLE AS new_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION bm25_chunks_inserted();
CREATE TRIGGER bm25_chunks_deleted AFTER DELETE ON file_chunks
    REFERENCING OLD TABLE AS old_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION bm25_chunks_deleted();
"""

BACKFILL = """
WITH c AS MATERIALIZED (
    SELECT f.vector_store_id, f.id, f.tsv, bm25_length(f.tsv) AS length FROM file_chunks AS f
)
INSERT INTO bm25_postings (vector_store_id, term, chunk_id, tf, length)
SELECT c.vector_store_id, t.lexeme, c.id, coalesce(array_length(t.positions, 1), 1), c.length
FROM c CROSS JOIN LATERAL unnest(c.tsv) AS t;
INSERT INTO bm25_stores (vector_store_id, chunks, length)
SELECT c.vector_store_id, count(*), sum(bm25_length(c.tsv))
FROM file_chunks AS c GROUP BY c.vector_store_id;
"""


def upgrade() -> None:
    op.create_table(
        "bm25_postings",
        sa.Column("vector_store_id", sa.String(length=64), nullable=False),
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("chunk_id", sa.BigInteger(), nullable=False),
        sa.Column("tf", sa.Integer(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "vector_store_id", "term", "chunk_id", name=op.f("pk_bm25_postings")
        ),
    )
    op.create_table(
        "bm25_stores",
        sa.Column("vector_store_id", sa.String(length=64), nullable=False),
        sa.Column("chunks", sa.BigInteger(), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("vector_store_id", name=op.f("pk_bm25_stores")),
    )
    for statement in (LENGTH_FUNCTION, INSERTED_FUNCTION, DELETED_FUNCTION):
        op.execute(statement)
    for statement in (*TRIGGERS.strip().split(";\n"), *BACKFILL.strip().split(";\n")):
        op.execute(statement.strip().rstrip(";"))
    op.drop_index("ix_file_chunks_tsv", table_name="file_chunks", postgresql_using="gin")


def downgrade() -> None:
    op.create_index(
        "ix_file_chunks_tsv", "file_chunks", ["tsv"], unique=False, postgresql_using="gin"
    )
    op.execute("DROP TRIGGER bm25_chunks_deleted ON file_chunks")
    op.execute("DROP TRIGGER bm25_chunks_inserted ON file_chunks")
    op.execute("DROP FUNCTION bm25_chunks_deleted()")
    op.execute("DROP FUNCTION bm25_chunks_inserted()")
    op.execute("DROP FUNCTION bm25_length(tsvector)")
    op.drop_table("bm25_stores")
    op.drop_table("bm25_postings")
