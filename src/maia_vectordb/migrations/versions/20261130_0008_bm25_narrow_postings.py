"""BM25 postings keyed by fixed-width integers: (store key, term hash, chunk id)

Writing a chunk's ~240 postings was most of what PostgreSQL spent ingesting it, half of
that their btree (docs/benchmarks.md). The key was (varchar store id, text term,
chunk id); now the store is `bm25_stores.key` (a bigint identity, the row the trigger
upserts first) and the term is `bm25_term(lexeme)`, a 64-bit hash, so every key is 24
bytes compared as integers, and the trigger inserts the postings in key order. Two
lexemes share a hash with probability ~2^-64 per pair; BM25 scores are otherwise
unchanged. The upgrade rebuilds the postings from the chunks' stored tsvectors.

Revision ID: 20261130_0008
Revises: 20261130_0007
Create Date: 2026-11-30 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261130_0008"
down_revision: str | None = "20261130_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The one definition of a term's key, shared by the triggers and keyword search.
TERM_FUNCTION = """
CREATE FUNCTION bm25_term(lexeme text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN hashtextextended(lexeme, 0)
"""

# The store's row first: its key is what the postings carry. Stores are upserted in a
# fixed order, so two writers lock bm25_stores rows alike.
INSERTED_FUNCTION = """
CREATE OR REPLACE FUNCTION bm25_chunks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bm25_stores AS s (vector_store_id, chunks, length)
    SELECT n.vector_store_id, count(*), sum(bm25_length(n.tsv))
    FROM new_chunks AS n GROUP BY n.vector_store_id ORDER BY n.vector_store_id
    ON CONFLICT (vector_store_id) DO UPDATE
        SET chunks = s.chunks + EXCLUDED.chunks, length = s.length + EXCLUDED.length;
    WITH c AS MATERIALIZED (
        SELECT s.key, n.id, n.tsv, bm25_length(n.tsv) AS length
        FROM new_chunks AS n JOIN bm25_stores AS s USING (vector_store_id)
    )
    INSERT INTO bm25_postings (store_key, term, chunk_id, tf, length)
    SELECT c.key, bm25_term(t.lexeme), c.id, coalesce(array_length(t.positions, 1), 1), c.length
    FROM c CROSS JOIN LATERAL unnest(c.tsv) AS t
    ORDER BY 1, 2, 3;
    RETURN NULL;
END $$
"""

# Unchanged by this revision: the deleted chunks leave their store's totals, and a store
# left with no chunk leaves bm25_stores (its key with it).
STORES_ON_DELETE = """
    UPDATE bm25_stores AS s
    SET chunks = s.chunks - d.chunks, length = s.length - d.length
    FROM (SELECT o.vector_store_id, count(*) AS chunks, sum(bm25_length(o.tsv)) AS length
          FROM old_chunks AS o GROUP BY o.vector_store_id ORDER BY o.vector_store_id) AS d
    WHERE s.vector_store_id = d.vector_store_id;
    DELETE FROM bm25_stores AS s
    WHERE s.chunks <= 0 AND s.vector_store_id IN (SELECT vector_store_id FROM old_chunks);
"""

DELETED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION bm25_chunks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM bm25_postings AS p
    USING old_chunks AS o JOIN bm25_stores AS s USING (vector_store_id)
        CROSS JOIN LATERAL unnest(o.tsv) AS t
    WHERE p.store_key = s.key AND p.term = bm25_term(t.lexeme) AND p.chunk_id = o.id;
    {STORES_ON_DELETE}
    RETURN NULL;
END $$
"""  # noqa: S608 (constants only)

BACKFILL = """
INSERT INTO bm25_postings (store_key, term, chunk_id, tf, length)
SELECT s.key, bm25_term(t.lexeme), c.id, coalesce(array_length(t.positions, 1), 1),
       bm25_length(c.tsv)
FROM file_chunks AS c JOIN bm25_stores AS s USING (vector_store_id)
    CROSS JOIN LATERAL unnest(c.tsv) AS t
ORDER BY 1, 2, 3
"""

OLD_INSERTED_FUNCTION = """
CREATE OR REPLACE FUNCTION bm25_chunks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
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

OLD_DELETED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION bm25_chunks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM bm25_postings AS p
    USING old_chunks AS o CROSS JOIN LATERAL unnest(o.tsv) AS t
    WHERE p.vector_store_id = o.vector_store_id AND p.term = t.lexeme AND p.chunk_id = o.id;
    {STORES_ON_DELETE}
    RETURN NULL;
END $$
"""  # noqa: S608 (constants only)

OLD_BACKFILL = """
INSERT INTO bm25_postings (vector_store_id, term, chunk_id, tf, length)
SELECT c.vector_store_id, t.lexeme, c.id, coalesce(array_length(t.positions, 1), 1),
       bm25_length(c.tsv)
FROM file_chunks AS c CROSS JOIN LATERAL unnest(c.tsv) AS t
"""


def _postings(store: sa.Column[object], term: sa.Column[object]) -> None:
    """An empty postings table, keyed by `store` and `term`, then the chunk."""
    op.create_table(
        "bm25_postings",
        store,
        term,
        sa.Column("chunk_id", sa.BigInteger(), nullable=False),
        sa.Column("tf", sa.Integer(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(store.name, term.name, "chunk_id", name=op.f("pk_bm25_postings")),
    )


def upgrade() -> None:
    op.add_column(
        "bm25_stores",
        sa.Column("key", sa.BigInteger(), sa.Identity(always=False), nullable=False),
    )
    op.create_unique_constraint(op.f("uq_bm25_stores_key"), "bm25_stores", ["key"])
    op.drop_table("bm25_postings")
    _postings(
        sa.Column("store_key", sa.BigInteger(), nullable=False),
        sa.Column("term", sa.BigInteger(), nullable=False),
    )
    for statement in (TERM_FUNCTION, INSERTED_FUNCTION, DELETED_FUNCTION, BACKFILL):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("bm25_postings")
    _postings(
        sa.Column("vector_store_id", sa.String(length=64), nullable=False),
        sa.Column("term", sa.Text(), nullable=False),
    )
    for statement in (OLD_INSERTED_FUNCTION, OLD_DELETED_FUNCTION, OLD_BACKFILL):
        op.execute(statement)
    op.execute("DROP FUNCTION bm25_term(text)")
    op.drop_constraint(op.f("uq_bm25_stores_key"), "bm25_stores", type_="unique")
    op.drop_column("bm25_stores", "key")
