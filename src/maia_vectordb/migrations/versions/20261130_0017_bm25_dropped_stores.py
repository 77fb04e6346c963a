"""A store's delete leaves its BM25 postings to the keyword indexer; a chunk's delete
looks its postings up one by one: `bm25_dropped_keys`

Deleting a store of 7,024 posted chunks (1.4 M postings) took its DELETE 58 and 126 s
of PostgreSQL CPU (bench/store_delete.py), holding its locks and outliving clients'
timeouts. Two causes, both in the chunk delete trigger:

- The postings' DELETE joined them to the deleted chunks by chunk id first, then
  unnested each chunk's tsvector once per posting to match the term (the planner takes
  `unnest` for 10 rows): ~240 x 240 comparisons a chunk. The term keys are now
  computed in a fenced subquery (`OFFSET 0`), so each chunk's tsvector is unnested once
  and the postings are found by their primary key, whatever plan joins them.
- A store's postings were deleted one (term, chunk) at a time even when the whole store
  went. When the store's row is gone too (its delete cascading to the chunks), the
  trigger now only deletes its pending rows and totals and records its key in
  `bm25_dropped_keys`; the keyword indexer deletes that key's postings later, in slices
  (`bm25_purge_dropped`). Nothing reads them meanwhile: keyword search reaches postings
  through a live store's `bm25_stores` row, and a key is never reused.

The downgrade locks out store deletes still on the new function and purges whatever
dropped keys remain first.

Revision ID: 20261130_0017
Revises: 20261130_0016
Create Date: 2026-12-01 02:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261130_0017"
down_revision: str | None = "20261130_0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Unchanged from 20261130_0015.
TOTALS_AND_EMPTIED_STORES = """
    UPDATE bm25_stores AS s
    SET chunks = s.chunks - d.chunks, length = s.length - d.length
    FROM (SELECT o.vector_store_id, count(*) AS chunks, sum(bm25_length(o.tsv)) AS length
          FROM old_chunks AS o GROUP BY o.vector_store_id ORDER BY o.vector_store_id) AS d
    WHERE s.vector_store_id = d.vector_store_id;
    -- An emptied store's row goes, unless a writer holds its key: it is about to add chunks.
    DELETE FROM bm25_stores AS s
    WHERE s.key IN (
        SELECT e.key FROM bm25_stores AS e
        WHERE e.chunks <= 0 AND e.vector_store_id IN (SELECT vector_store_id FROM old_chunks)
        FOR UPDATE SKIP LOCKED
    );
"""

# 20261130_0015's postings DELETE, with the deleted chunks' (key, term, chunk) computed
# behind a fence.
POSTINGS_OF_DELETED_CHUNKS = """
    DELETE FROM bm25_postings AS p
    USING (
        SELECT s.key, bm25_term(t.lexeme) AS term, o.id
        FROM old_chunks AS o JOIN bm25_stores AS s USING (vector_store_id)
            CROSS JOIN LATERAL unnest(o.tsv) AS t
        WHERE NOT EXISTS (SELECT 1 FROM unnest(was_pending) AS w (id) WHERE w.id = o.id)
        OFFSET 0
    ) AS d
    WHERE p.store_key = d.key AND p.term = d.term AND p.chunk_id = d.id;
"""

# First the stores that went with their chunks: their rows go here, so the statements
# after this, which reach chunks through `bm25_stores`, skip their chunks.
DELETED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION bm25_chunks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    dropped bigint[];
    was_pending bigint[];
BEGIN
    SELECT array_agg(s.key ORDER BY s.key) INTO dropped
    FROM bm25_stores AS s
    WHERE s.vector_store_id IN (SELECT DISTINCT o.vector_store_id FROM old_chunks AS o)
        AND NOT EXISTS (SELECT 1 FROM vector_stores AS v WHERE v.id = s.vector_store_id);
    IF dropped IS NOT NULL THEN
        INSERT INTO bm25_dropped_keys (key) SELECT unnest(dropped) ON CONFLICT DO NOTHING;
        DELETE FROM bm25_pending WHERE store_key = ANY (dropped);
        DELETE FROM bm25_stores WHERE key = ANY (dropped);
    END IF;
    WITH gone AS (
        DELETE FROM bm25_pending AS p
        USING old_chunks AS o JOIN bm25_stores AS s USING (vector_store_id)
        WHERE p.store_key = s.key AND p.chunk_id = o.id
        RETURNING p.chunk_id
    )
    SELECT array_agg(gone.chunk_id) INTO was_pending FROM gone;
    {POSTINGS_OF_DELETED_CHUNKS.strip()}
    {TOTALS_AND_EMPTIED_STORES.strip()}
    RETURN NULL;
END $$
"""  # noqa: S608 (constants only)

# Up to `max_rows` postings of one dropped key, lowest key first; the key's row goes
# once none is left. How many postings went; NULL when no key is left to purge.
PURGE_FUNCTION = """
CREATE FUNCTION bm25_purge_dropped(max_rows integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    target bigint;
    purged integer;
BEGIN
    SELECT d.key INTO target FROM bm25_dropped_keys AS d ORDER BY d.key LIMIT 1
    FOR UPDATE SKIP LOCKED;
    IF target IS NULL THEN
        RETURN NULL;
    END IF;
    DELETE FROM bm25_postings WHERE ctid = ANY (ARRAY(
        SELECT p.ctid FROM bm25_postings AS p WHERE p.store_key = target LIMIT max_rows
    ));
    GET DIAGNOSTICS purged = ROW_COUNT;
    IF purged < max_rows THEN
        DELETE FROM bm25_dropped_keys WHERE key = target;
    END IF;
    RETURN purged;
END $$
"""

# 20261130_0015's, for the downgrade.
OLD_DELETED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION bm25_chunks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_pending bigint[];
BEGIN
    WITH gone AS (
        DELETE FROM bm25_pending AS p
        USING old_chunks AS o JOIN bm25_stores AS s USING (vector_store_id)
        WHERE p.store_key = s.key AND p.chunk_id = o.id
        RETURNING p.chunk_id
    )
    SELECT array_agg(gone.chunk_id) INTO was_pending FROM gone;
    DELETE FROM bm25_postings AS p
    USING (SELECT * FROM old_chunks AS o WHERE NOT EXISTS (
               SELECT 1 FROM unnest(was_pending) AS w (id) WHERE w.id = o.id)
          ) AS o
        JOIN bm25_stores AS s USING (vector_store_id)
        CROSS JOIN LATERAL unnest(o.tsv) AS t
    WHERE p.store_key = s.key AND p.term = bm25_term(t.lexeme) AND p.chunk_id = o.id;
    {TOTALS_AND_EMPTIED_STORES.strip()}
    RETURN NULL;
END $$
"""  # noqa: S608 (constants only)


def upgrade() -> None:
    op.create_table(
        "bm25_dropped_keys",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_bm25_dropped_keys")),
    )
    op.execute(PURGE_FUNCTION)
    op.execute(DELETED_FUNCTION)


def downgrade() -> None:
    op.execute(OLD_DELETED_FUNCTION)
    # A store delete still on the new function has recorded its key by now or waits for
    # the drop; none is left with its postings unpurged.
    op.execute("LOCK TABLE bm25_dropped_keys IN EXCLUSIVE MODE")
    op.execute(
        "DELETE FROM bm25_postings AS p USING bm25_dropped_keys AS d WHERE p.store_key = d.key"
    )
    op.drop_table("bm25_dropped_keys")
    op.execute("DROP FUNCTION bm25_purge_dropped(integer)")
