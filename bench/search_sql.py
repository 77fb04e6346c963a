"""The search benchmark's SQL: the data set is generated inside PostgreSQL by these.

`{vector}` in `INSERT_CHUNKS` is one of the vector expressions; `$5` is the dimension
and `i` the chunk's number, referenced so each row draws its own random values.
"""

from __future__ import annotations

# Each large store has its own partial index (maia_vectordb.db.vector_indexes): this
# prefix names them all in a plan.
INDEX = "ix_file_chunks_hnsw_"
BUILD_SETTINGS = {"maintenance_work_mem": "2GB", "max_parallel_maintenance_workers": "1"}
PROJECT = "00000000-0000-0000-0000-000000000001"
CHUNKS_PER_FILE = 100
SHARDS = 10
# `pct` takes 100 values by file: `pct = 3` keeps 1 % of a store (the filtered scenario).
PERCENTS = 100
FILTER_KEY = "pct"
FILTER_VALUE = 3
WORDS_PER_CHUNK = 12
STRATEGY = {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}
LATENT_DIMS = 32
LATENT_NOISE = 1.0

RANDOM_VECTOR = "ARRAY(SELECT random_normal() FROM generate_series(1, $5) WHERE i >= 0)::vector"
LATENT_VECTOR = (
    "(SELECT sum(b.v * array_fill(random_normal() + 0 * i, ARRAY[$5::int])::vector) "
    f"FROM bench_basis AS b) + ARRAY(SELECT random_normal(0, {LATENT_NOISE}) "
    "FROM generate_series(1, $5) WHERE i >= 0)::vector"
)
CREATE_BASIS = f"""
DROP TABLE IF EXISTS bench_basis;
CREATE TABLE bench_basis AS SELECT k, ARRAY(
    SELECT random_normal() FROM generate_series(1, {{dims}}) WHERE k >= 0)::vector AS v
FROM generate_series(1, {LATENT_DIMS}) AS k
"""

INSERT_CHUNKS = f"""
INSERT INTO file_chunks
    (vector_store_id, file_id, chunk_index, text, token_count, attributes, embedding)
SELECT $1, $2 || '-' || (i / {CHUNKS_PER_FILE}), i % {CHUNKS_PER_FILE},
    'chunk ' || $3 || '-' || i || ' ' || array_to_string(ARRAY(
        SELECT ($4::text[])[1 + floor(random() * cardinality($4::text[]))::int]
        FROM generate_series(1, {WORDS_PER_CHUNK}) WHERE i >= 0), ' '),
    {WORDS_PER_CHUNK + 4},
    jsonb_build_object('shard', (i / {CHUNKS_PER_FILE}) % {SHARDS},
        'pct', (i / {CHUNKS_PER_FILE}) % {PERCENTS}),
    l2_normalize({{vector}})::halfvec
FROM generate_series($6::int, $7::int - 1) AS i
"""
INSERT_FILES = """
INSERT INTO files (id, project_id, filename, purpose, bytes, status)
SELECT $1 || '-' || f, $2::uuid, 'bench-' || f || '.txt', 'assistants', 4096, 'processed'
FROM generate_series(0, $3::int - 1) AS f
"""
ATTACH_FILES = f"""
INSERT INTO vector_store_files
    (vector_store_id, file_id, project_id, status, usage_bytes, chunking_strategy, attributes)
SELECT $1, $2 || '-' || f, $3::uuid, 'completed', 4096, $4::jsonb,
    jsonb_build_object('shard', f % {SHARDS}, 'pct', f % {PERCENTS})
FROM generate_series(0, $5::int - 1) AS f
"""
# Chunks carry their attachment's attributes, as ingestion writes them; data sets kept by
# earlier versions of this bench had `pct` on the chunks only.
ALIGN_ATTRIBUTES = """
UPDATE vector_store_files AS v SET attributes = c.attributes
FROM (SELECT DISTINCT ON (vector_store_id, file_id) vector_store_id, file_id, attributes
      FROM file_chunks ORDER BY vector_store_id, file_id) AS c
WHERE (v.vector_store_id, v.file_id) = (c.vector_store_id, c.file_id)
  AND v.attributes IS DISTINCT FROM c.attributes
"""
