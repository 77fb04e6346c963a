"""BM25 postings written after a load, not as its chunks land: `bm25_pending`

Writing a chunk's ~240 postings into the store's btree cost PostgreSQL ~1 ms of CPU a
chunk inside the COPY that stores it, half of everything an ingest spends there
(docs/benchmarks.md). Now the insert trigger only records each new chunk in
`bm25_pending (store_key, chunk_id) → length` and adds it to the store's totals, and
`bm25_post_pending(store_key, max_chunks)` moves pending chunks into the postings later,
a slice per transaction (the keyword indexer, `ingest/keyword_indexer.py`, calls it once
a store's queue drains).

Nothing is ever unsearchable or scored differently meanwhile: N and avgdl still count
every chunk from its commit, and keyword search reads a pending chunk's term
frequencies from its stored tsvector (db/bm25.py), so a chunk is scored the same
whether it is pending or posted. A chunk is in exactly one of the two: the function
deletes the pending rows it posts in the statement that writes their postings.

Concurrency:
- The function claims pending rows `FOR UPDATE SKIP LOCKED`: two indexers post
  disjoint slices, and it never waits for a writer or a delete.
- The delete trigger deletes the chunks' pending rows before their postings. A delete
  racing a posting of the same chunks waits for it at the pending rows and then, in
  its next statement (a new snapshot), deletes the postings it wrote; chunks that were
  still pending have no postings to look for.

The upgrade leaves existing postings as they are and nothing pending. The downgrade
posts whatever is pending first.

Revision ID: 20261130_0015
Revises: 20261130_0014
Create Date: 2026-12-01 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261130_0015"
down_revision: str | None = "20261130_0014"
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

# 20261130_0014's locking of the store rows, with the postings' INSERT replaced by the
# pending rows'.
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
    {NEW_CHUNKS_WITH_LENGTHS.strip()}, pending AS (
        INSERT INTO bm25_pending (store_key, chunk_id, length)
        SELECT k.key, c.id, c.length
        FROM c JOIN unnest(stores, keys) AS k (vector_store_id, key) USING (vector_store_id)
        ORDER BY 1, 2
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

# Unchanged from 20261130_0014: the deleted chunks' stores' totals fall, and an emptied
# store's row goes.
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

# Pending rows first: a posting of these chunks in flight is waited for here, so the
# postings' DELETE after it (a new snapshot) sees what it wrote. A chunk whose pending
# row this deleted has no postings: its ~240 lookups are skipped.
DELETED_FUNCTION = f"""
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

# Up to `max_chunks` of the store's pending chunks, lowest ids first, into the postings;
# how many it moved. The postings are what the insert trigger wrote before this revision.
POST_FUNCTION = """
CREATE FUNCTION bm25_post_pending(target_key bigint, max_chunks integer) RETURNS integer
LANGUAGE sql AS $$
    WITH moved AS (
        DELETE FROM bm25_pending AS p
        WHERE p.store_key = target_key AND p.chunk_id IN (
            SELECT q.chunk_id FROM bm25_pending AS q WHERE q.store_key = target_key
            ORDER BY q.chunk_id LIMIT max_chunks FOR UPDATE SKIP LOCKED
        )
        RETURNING p.chunk_id, p.length
    ), postings AS (
        INSERT INTO bm25_postings (store_key, term, chunk_id, tf, length)
        SELECT target_key, bm25_term(t.lexeme), m.chunk_id,
               coalesce(array_length(t.positions, 1), 1), m.length
        FROM moved AS m JOIN file_chunks AS c ON c.id = m.chunk_id
            CROSS JOIN LATERAL unnest(c.tsv) AS t
        ORDER BY 1, 2, 3
    )
    SELECT count(*)::integer FROM moved
$$
"""

# 20261130_0014's functions, for the downgrade.
OLD_INSERTED_FUNCTION = f"""
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

OLD_DELETED_FUNCTION = f"""
CREATE OR REPLACE FUNCTION bm25_chunks_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM bm25_postings AS p
    USING old_chunks AS o JOIN bm25_stores AS s USING (vector_store_id)
        CROSS JOIN LATERAL unnest(o.tsv) AS t
    WHERE p.store_key = s.key AND p.term = bm25_term(t.lexeme) AND p.chunk_id = o.id;
    {TOTALS_AND_EMPTIED_STORES.strip()}
    RETURN NULL;
END $$
"""  # noqa: S608 (constants only)


def upgrade() -> None:
    op.create_table(
        "bm25_pending",
        sa.Column("store_key", sa.BigInteger(), nullable=False),
        sa.Column("chunk_id", sa.BigInteger(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("store_key", "chunk_id", name=op.f("pk_bm25_pending")),
    )
    op.execute(POST_FUNCTION)
    op.execute(INSERTED_FUNCTION)
    op.execute(DELETED_FUNCTION)


def downgrade() -> None:
    op.execute(OLD_INSERTED_FUNCTION)
    op.execute(OLD_DELETED_FUNCTION)
    # Writers still on the old functions commit their pending rows before these are
    # posted (and later ones wait for the drop): none is left with neither.
    op.execute("LOCK TABLE bm25_pending IN EXCLUSIVE MODE")
    op.execute("SELECT bm25_post_pending(s.key, 2147483647) FROM bm25_stores AS s ORDER BY s.key")
    op.drop_table("bm25_pending")
    op.execute("DROP FUNCTION bm25_post_pending(bigint, integer)")
