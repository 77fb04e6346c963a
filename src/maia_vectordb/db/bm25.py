"""Okapi BM25 keyword retrieval over a store's inverted index (`bm25_postings`).

The query's terms are PostgreSQL's English text-search lexemes (stemmed, stop words
dropped), ORed: a chunk scores on whichever of them it contains. For term t in a chunk
of `length` terms, in a store of N chunks averaging `avgdl` terms, where `df` chunks
contain t:

    idf(t)   = ln(1 + (N - df + 0.5) / (df + 0.5))
    score(t) = idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avgdl))

`df` is counted from the postings as they are read, so it is exact by construction; N
and the total length come from `bm25_stores`, which the same triggers keep. The 0..1
score divides the sum by its ceiling for this query, Σ idf(t) * (k1 + 1) over every
query term (a term absent from the store counts with df = 0): the share of the query's
attainable weight that the chunk earns.

Postings are keyed by the store's `key` and the term's 64-bit hash (`bm25_term`,
migration 20261130_0008), so the query's lexemes are hashed the same way before they
are looked up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Float,
    Select,
    Text,
    any_,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.sql.elements import BindParameter, True_

from maia_vectordb.db.models import Bm25Pending, Bm25Posting, Bm25Store, FileChunk
from maia_vectordb.db.search import HIT_COLUMNS, TEXT_SEARCH_CONFIG

K1 = 1.2
B = 0.75

Within = Callable[[ColumnElement[int]], ColumnElement[bool]]
"""A condition on a posting's chunk id."""


def _idf(n: ColumnElement[float], df: ColumnElement[float] | float) -> ColumnElement[float]:
    return func.ln(1.0 + (n - df + 0.5) / (df + 0.5))


def _query_vector(query: str | BindParameter[str]) -> ColumnElement[Any]:
    """The query as the chunks' tsvector was built: its distinct lexemes."""
    # Unique: one statement may hold several queries' legs.
    text = query if isinstance(query, BindParameter) else bindparam("q", query, unique=True)
    return func.to_tsvector(TEXT_SEARCH_CONFIG, text)


def _stats(vector_store_id: str | BindParameter[str]) -> CTE:
    """N and avgdl of the store, one row (none for a store without chunks)."""
    chunks = cast(Bm25Store.chunks, Float)
    return (
        select(chunks.label("n"), (cast(Bm25Store.length, Float) / chunks).label("avgdl"))
        .where(Bm25Store.vector_store_id == vector_store_id, Bm25Store.chunks > 0)
        .cte("stats", nesting=True)
    )


def _term_keys(terms: ColumnElement[list[str]]) -> ColumnElement[list[int]]:
    """The lexemes as the postings store them, `ARRAY(SELECT bm25_term(lexeme) ...)`: an
    array, so the postings are read by one index scan over all of them."""
    lexeme = func.unnest(terms).table_valued("lexeme").render_derived()
    return func.array(select(func.bm25_term(lexeme.c.lexeme)).scalar_subquery())


def _store_key(vector_store_id: str | BindParameter[str]) -> ColumnElement[int]:
    key = select(Bm25Store.key).where(Bm25Store.vector_store_id == vector_store_id)
    return key.scalar_subquery()


def any_lexeme(vector: ColumnElement[Any]) -> ColumnElement[Any]:
    """A tsquery matching any of `vector`'s lexemes as they are (no parser, no stemming).

    A tsvector's text is its quoted lexemes (quotes and backslashes doubled, as a
    tsquery reads them) separated by single spaces; lexemes hold no space, so "' '"
    occurs only between them. No lexeme at all (stop words only) gives NULL, which
    matches nothing."""
    ored = func.replace(cast(func.strip(vector), Text), literal("' '"), literal("' | '"))
    return cast(func.nullif(ored, literal("")), TSQUERY)


def _pending(vector_store_id: str | BindParameter[str], vector: ColumnElement[Any]) -> Select[Any]:
    """The postings the store's pending chunks (`bm25_pending`, not indexed yet) would
    have for the query's terms, read from their stored tsvectors: the same term, tf and
    length `bm25_post_pending` will write, so a chunk scores the same either way.

    Each pending row looks its chunk up by primary key (a LATERAL subquery that the
    planner cannot flatten, `OFFSET 0`), so however many rows the statistics expect, no
    plan scans `file_chunks` beyond the store's pending chunks. A chunk holding no query
    term is dropped by one containment test (`@@`); one that does keeps only its query
    lexemes (weighted 'A', then filtered on that weight) before it is unnested, not its
    ~240. Both operands are computed once per statement (scalar subqueries). 5-10 µs a
    pending chunk (docs/benchmarks.md)."""
    lexemes = select(func.tsvector_to_array(vector)).scalar_subquery()
    matches = select(any_lexeme(vector)).scalar_subquery()
    chunk = (
        select(FileChunk.tsv).where(FileChunk.id == Bm25Pending.chunk_id).offset(0).lateral("chunk")
    )
    kept = func.ts_filter(
        func.setweight(chunk.c.tsv, literal_column("'A'"), lexemes), literal_column("'{a}'")
    )
    term = func.unnest(kept).table_valued("lexeme", "positions").render_derived("t")
    tf = func.coalesce(func.array_length(term.c.positions, 1), 1)
    return (
        select(
            func.bm25_term(term.c.lexeme).label("term"),
            Bm25Pending.chunk_id,
            tf.label("tf"),
            Bm25Pending.length,
        )
        .select_from(Bm25Pending)
        .join(chunk, true())
        .join(term, true())
        .where(
            Bm25Pending.store_key == _store_key(vector_store_id),
            chunk.c.tsv.op("@@")(matches),
        )
    )


def _postings(vector_store_id: str | BindParameter[str], vector: ColumnElement[Any]) -> CTE:
    """Every posting of a query term in the store, posted or pending, with the term's
    document frequency."""
    posted = select(
        Bm25Posting.term, Bm25Posting.chunk_id, Bm25Posting.tf, Bm25Posting.length
    ).where(
        Bm25Posting.store_key == _store_key(vector_store_id),
        Bm25Posting.term == any_(_term_keys(func.tsvector_to_array(vector))),
    )
    every = union_all(posted, _pending(vector_store_id, vector)).subquery("every")
    return select(
        every.c.term,
        every.c.chunk_id,
        cast(every.c.tf, Float).label("tf"),
        cast(every.c.length, Float).label("length"),
        cast(func.count().over(partition_by=every.c.term), Float).label("df"),
    ).cte("postings", nesting=True)


def _ceiling(terms: ColumnElement[list[str]], stats: CTE, postings: CTE) -> CTE:
    """Σ idf(t) * (k1 + 1) over the query's terms: what a chunk with infinite tf would score."""
    p, s = postings.c, stats.c
    matched = select(p.term, p.df).distinct().subquery("matched")
    n = func.max(s.n)
    unmatched = func.cardinality(terms) - func.count()
    total = func.coalesce(func.sum(_idf(s.n, matched.c.df)), 0.0) + unmatched * _idf(n, 0.0)
    return (
        select(((K1 + 1) * total).label("ceiling"))
        .select_from(matched.join(stats, true()))
        .cte("ceiling", nesting=True)
    )


def _scored(stats: CTE, postings: CTE) -> Select[Any]:
    p, s = postings.c, stats.c
    saturation = p.tf * (K1 + 1) / (p.tf + K1 * (1 - B + B * p.length / s.avgdl))
    bm25 = func.sum(_idf(s.n, p.df) * saturation).label("bm25")
    return select(p.chunk_id, bm25).select_from(postings.join(stats, true())).group_by(p.chunk_id)


def keyword_candidates(
    *,
    vector_store_id: str | BindParameter[str],
    query: str | BindParameter[str],
    condition: ColumnElement[bool],
    limit: int | BindParameter[int],
    within: Within | None = None,
) -> Select[Any]:
    """The `limit` best chunks by BM25, `score` scaled to 0..1 by the query's ceiling (for
    `db.search.fetch_legs`). `within` narrows the ranked chunks to a set known to hold
    every chunk that passes `condition` (a selective filter's files,
    `db.filtered_search.keyword_scope`), after document frequencies are counted over
    the whole store, so scores do not change.

    The chunks are visited best first and the visit stops at `limit` that pass
    `condition` (a sorted subquery, not a CTE, so the planner knows its order): the
    service's condition, that the file has not expired, nearly always passes, and
    checking it, with each chunk row read, for every matching chunk cost a 100k-chunk
    store ~30 ms per search (docs/benchmarks.md). Without any condition the ranking is
    cut to `limit` before a chunk row is read."""
    vector = _query_vector(query)
    terms = func.tsvector_to_array(vector)
    stats = _stats(vector_store_id)
    postings = _postings(vector_store_id, vector)
    scored = _scored(stats, postings).order_by(literal_column("bm25").desc(), "chunk_id")
    if within is not None:
        scored = scored.where(within(postings.c.chunk_id))
    if isinstance(condition, True_):
        scored = scored.limit(limit)
    ranked = scored.subquery("scored")
    ceiling = _ceiling(terms, stats, postings)
    return (
        select(*HIT_COLUMNS, (ranked.c.bm25 / ceiling.c.ceiling).label("score"))
        .select_from(ranked)
        .join(FileChunk, FileChunk.id == ranked.c.chunk_id)
        .join(ceiling, true())
        .where(condition)
        .order_by(ranked.c.bm25.desc(), ranked.c.chunk_id)
        .limit(limit)
        .add_cte(postings, nest_here=True)
    )
