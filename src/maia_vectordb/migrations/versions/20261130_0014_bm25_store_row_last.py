"""BM25 triggers: a writer takes its store's `bm25_stores` row last, so two batches
of one store write their postings at the same time

The insert trigger (20261130_0013) began by upserting the store's totals row: that
UPDATE held the row until the transaction committed, so a second transaction writing
chunks into the same store waited for the first before writing any posting, and one
store's keyword indexing (most of what PostgreSQL spends on an ingested chunk) ran one
batch at a time. Now the trigger

1. reads the store's key `FOR KEY SHARE`, which waits neither for another writer's key
   share nor for its update of the totals (PostgreSQL lets a key share through a
   non-key update, as foreign-key checks rely on), and only when the store has no row
   yet inserts one (`ON CONFLICT DO NOTHING`), then reads the key again;
2. writes the postings with that key;
3. adds the batch's chunk count and length to the totals, the only step that waits for
   another writer of the store, and only for its commit.

The key share is what keeps the key valid meanwhile: the delete trigger removes a
store's emptied row only `FOR UPDATE SKIP LOCKED`, so it never waits for (or deadlocks
with) a writer that holds the key; such a writer adds its chunks to the row it kept.
A row left at zero chunks (its writer rolled back) is what an empty store looks like to
search (`chunks > 0` is required) and the next writer reuses it.

The postings and totals are what they were; only the functions change.

Revision ID: 20261130_0014
Revises: 20261130_0013
Create Date: 2026-11-30 21:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261130_0014"
down_revision: str | None = "20261130_0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Unchanged from 20261130_0013: each new chunk with its BM25 length, computed once.
NEW_CHUNKS_WITH_LENGTHS = """
    WITH c AS MATERIALIZED (
        SELECT n.vector_store_id, n.id, n.tsv, l.length
        FROM new_chunks AS n CROSS JOIN LATERAL (
            SELECT coalesce(sum(coalesce(array_length(u.positions, 1), 1)), 0)::integer
            FROM unnest(n.tsv) AS u
        ) AS l (length)
    )"""

INSERTED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION bm25_chunks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    stores text[];
    keys bigint[];
    counts bigint[];
    lengths bigint[];
BEGIN
    SELECT array_agg(DISTINCT n.vector_store_id ORDER BY n.vector_store_id) INTO stores
    FROM new_chunks AS n;
    IF stores IS NULL THEN
        RETURN NULL;
    END IF;
    LOOP
        SELECT array_agg(k.key ORDER BY k.vector_store_id) INTO keys FROM (
            SELECT s.key, s.vector_store_id FROM bm25_stores AS s
            WHERE s.vector_store_id = ANY (stores) ORDER BY s.vector_store_id FOR KEY SHARE
        ) AS k;
        EXIT WHEN coalesce(cardinality(keys), 0) = cardinality(stores);
        INSERT INTO bm25_stores (vector_store_id, chunks, length)
        SELECT u.vector_store_id, 0, 0 FROM unnest(stores) AS u (vector_store_id)
        ORDER BY 1
        ON CONFLICT (vector_store_id) DO NOTHING;
    END LOOP;
    {NEW_CHUNKS_WITH_LENGTHS.strip()}, postings AS (
        INSERT INTO bm25_postings (store_key, term, chunk_id, tf, length)
        SELECT k.key, bm25_term(t.lexeme), c.id, coalesce(array_length(t.positions, 1), 1),
               c.length
        FROM c JOIN unnest(stores, keys) AS k (vector_store_id, key) USING (vector_store_id)
            CROSS JOIN LATERAL unnest(c.tsv) AS t
        ORDER BY 1, 2, 3
    )
    SELECT array_agg(g.chunks ORDER BY g.vector_store_id),
           array_agg(g.length ORDER BY g.vector_store_id)
    INTO counts, lengths
    FROM (SELECT c.vector_store_id, count(*) AS chunks, sum(c.length) AS length
          FROM c GROUP BY c.vector_store_id) AS g;
    -- In store order, so two writers lock bm25_stores rows alike.
    INSERT INTO bm25_stores AS s (vector_store_id, chunks, length)
    SELECT * FROM unnest(stores, counts, lengths) ORDER BY 1
    ON CONFLICT (vector_store_id) DO UPDATE
        SET chunks = s.chunks + EXCLUDED.chunks, length = s.length + EXCLUDED.length;
    RETURN NULL;
END $$
"""  # noqa: S608 (constants only)

# Unchanged from 20261130_0008: the deleted chunks' postings go and their stores' totals
# fall; what changes is how an emptied store's row goes.
DELETED_POSTINGS_AND_TOTALS = """
    DELETE FROM bm25_postings AS p
    USING old_chunks AS o JOIN bm25_stores AS s USING (vector_store_id)
        CROSS JOIN LATERAL unnest(o.tsv) AS t
    WHERE p.store_key = s.key AND p.term = bm25_term(t.lexeme) AND p.chunk_id = o.id;
    UPDATE bm25_stores AS s
    SET chunks = s.chunks - d.chunks, length = s.length - d.length
    FROM (SELECT o.vector_store_id, count(*) AS chunks, sum(bm25_length(o.tsv)) AS length
          FROM old_chunks AS o GROUP BY o.vector_store_id ORDER BY o.vector_store_id) AS d
    WHERE s.vector_store_id = d.vector_store_id;
"""

DELETED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION bm25_chunks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {DELETED_POSTINGS_AND_TOTALS.strip()}
    -- An emptied store's row goes, unless a writer holds its key: it is about to add chunks.
    DELETE FROM bm25_stores AS s
    WHERE s.key IN (
        SELECT e.key FROM bm25_stores AS e
        WHERE e.chunks <= 0 AND e.vector_store_id IN (SELECT vector_store_id FROM old_chunks)
        FOR UPDATE SKIP LOCKED
    );
    RETURN NULL;
END $$
"""  # noqa: S608 (constants only)

# 20261130_0013's insert trigger and 20261130_0008's delete trigger, for the downgrade.
OLD_INSERTED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION bm25_chunks_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {NEW_CHUNKS_WITH_LENGTHS.strip()}, s AS (
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
"""  # noqa: S608 (constants only)

OLD_DELETED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION bm25_chunks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {DELETED_POSTINGS_AND_TOTALS.strip()}
    DELETE FROM bm25_stores AS s
    WHERE s.chunks <= 0 AND s.vector_store_id IN (SELECT vector_store_id FROM old_chunks);
    RETURN NULL;
END $$
"""  # noqa: S608 (constants only)


def upgrade() -> None:
    op.execute(INSERTED_FUNCTION)
    op.execute(DELETED_FUNCTION)


def downgrade() -> None:
    op.execute(OLD_INSERTED_FUNCTION)
    op.execute(OLD_DELETED_FUNCTION)
