"""BM25 insert trigger in one statement: each chunk's length computed once

The insert trigger (20261130_0008) read the COPY's transition table twice and computed
each chunk's BM25 length (`bm25_length`, a SQL function that unnests the tsvector) twice:
once for the store's totals, once for its postings. Now one statement computes the
lengths once, upserts the stores from them (in the same fixed order, so two writers
still lock `bm25_stores` rows alike) and writes the postings with the keys that upsert
returns. The postings and the store totals are the same as before; only the function
changes, so there is nothing to backfill.

Revision ID: 20261130_0013
Revises: 20261130_0012
Create Date: 2026-11-30 16:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261130_0013"
down_revision: str | None = "20261130_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSERTED_FUNCTION = """
CREATE OR REPLACE FUNCTION bm25_chunks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH c AS MATERIALIZED (
        SELECT n.vector_store_id, n.id, n.tsv, l.length
        FROM new_chunks AS n CROSS JOIN LATERAL (
            SELECT coalesce(sum(coalesce(array_length(u.positions, 1), 1)), 0)::integer
            FROM unnest(n.tsv) AS u
        ) AS l (length)
    ), s AS (
        INSERT INTO bm25_stores AS s (vector_store_id, chunks, length)
        SELECT c.vector_store_id, count(*), sum(c.length) FROM c
        GROUP BY c.vector_store_id ORDER BY c.vector_store_id
        ON CONFLICT (vector_store_id) DO UPDATE
            SET chunks = s.chunks + EXCLUDED.chunks, length = s.length + EXCLUDED.length
        RETURNING s.vector_store_id, s.key
    )
    INSERT INTO bm25_postings (store_key, term, chunk_id, tf, length)
    SELECT s.key, bm25_term(t.lexeme), c.id, coalesce(array_length(t.positions, 1), 1), c.length
    FROM c JOIN s USING (vector_store_id) CROSS JOIN LATERAL unnest(c.tsv) AS t
    ORDER BY 1, 2, 3;
    RETURN NULL;
END $$
"""

# 20261130_0008's, for the downgrade.
OLD_INSERTED_FUNCTION = """
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


def upgrade() -> None:
    op.execute(INSERTED_FUNCTION)


def downgrade() -> None:
    op.execute(OLD_INSERTED_FUNCTION)
