"""Search: choose the mode, run the retrieval queries, fuse and threshold the results.

Scores, by mode (all 0..1, higher is better):
- `vector`: cosine similarity, 1 - cosine distance (floored at 0).
- `keyword`: PostgreSQL `ts_rank_cd` scaled as rank / (rank + 1).
- `hybrid`: weighted reciprocal rank fusion, Σ wᵢ / (60 + rankᵢ), divided by its
  maximum (a chunk ranked first in every list scores 1.0).
With several queries, `vector` and `keyword` keep a chunk's best score and
`hybrid` fuses every query's lists.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import func
from sqlalchemy.sql.elements import True_

from maia_vectordb.config import Settings
from maia_vectordb.db import search as queries
from maia_vectordb.db.filters import compile_filter
from maia_vectordb.db.liveness import file_is_live
from maia_vectordb.db.models import FileChunk, VectorStore
from maia_vectordb.embeddings import (
    EmbedderRegistry,
    ModelSpec,
    ModelUnavailable,
    QueryEmbeddingCache,
)
from maia_vectordb.errors import InvalidRequest
from maia_vectordb.observability.metrics import Metrics
from maia_vectordb.schemas.search import SearchMode, SearchPage, SearchRequest, SearchResult
from maia_vectordb.schemas.vector_store_files import ContentPart
from maia_vectordb.services import vector_stores
from maia_vectordb.services.timeutil import utcnow

RRF_K = 60
CANDIDATE_FACTOR = 4
MIN_CANDIDATES = 40
ACTIVITY_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Ranked:
    hits: list[queries.Hit]
    weight: float


def resolve_mode(body: SearchRequest) -> SearchMode:
    """`search_mode` wins; otherwise `ranker: none` is pure vector and the rest hybrid."""
    if body.search_mode is not None:
        return body.search_mode
    options = body.ranking_options
    if options is not None and options.ranker == "none":
        return "vector"
    return "hybrid"


def _weights(body: SearchRequest) -> tuple[float, float]:
    options = body.ranking_options
    if options is None or options.hybrid_search is None:
        return 1.0, 1.0
    hybrid = options.hybrid_search
    if hybrid.embedding_weight + hybrid.text_weight == 0:
        return 1.0, 1.0
    return hybrid.embedding_weight, hybrid.text_weight


def best_of(lists: Sequence[Ranked]) -> list[tuple[queries.Hit, float]]:
    best: dict[int, tuple[queries.Hit, float]] = {}
    for ranked in lists:
        for hit in ranked.hits:
            if hit.chunk_id not in best or hit.score > best[hit.chunk_id][1]:
                best[hit.chunk_id] = (hit, hit.score)
    return sorted(best.values(), key=lambda pair: (-pair[1], pair[0].chunk_id))


def reciprocal_rank_fusion(lists: Sequence[Ranked]) -> list[tuple[queries.Hit, float]]:
    ceiling = sum(r.weight / (RRF_K + 1) for r in lists) or 1.0
    scores: dict[int, float] = defaultdict(float)
    hits: dict[int, queries.Hit] = {}
    for ranked in lists:
        for position, hit in enumerate(ranked.hits, start=1):
            scores[hit.chunk_id] += ranked.weight / (RRF_K + position)
            hits[hit.chunk_id] = hit
    fused = [(hits[cid], min(1.0, score / ceiling)) for cid, score in scores.items()]
    return sorted(fused, key=lambda pair: (-pair[1], pair[0].chunk_id))


async def search(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    vector_store_id: str,
    body: SearchRequest,
    embedders: EmbedderRegistry,
    settings: Settings,
    metrics: Metrics | None = None,
    writer: AsyncSession | None = None,
) -> SearchPage:
    """Reads through `session` (possibly a replica); the one write, `last_active_at`, goes
    through `writer` (the primary), defaulting to `session`. Timed per mode; failed
    searches (unknown store, bad filter) are not observed."""
    started = time.perf_counter()
    page = await _search(
        session,
        writer=writer or session,
        project_id=project_id,
        vector_store_id=vector_store_id,
        body=body,
        embedders=embedders,
        settings=settings,
    )
    if metrics is not None:
        seconds = time.perf_counter() - started
        metrics.search.record(mode=resolve_mode(body), seconds=seconds, results=len(page.data))
    return page


async def _search(
    session: AsyncSession,
    *,
    writer: AsyncSession,
    project_id: uuid.UUID,
    vector_store_id: str,
    body: SearchRequest,
    embedders: EmbedderRegistry,
    settings: Settings,
) -> SearchPage:
    mode = resolve_mode(body)
    texts = body.queries()
    k = body.max_num_results
    pool = max(k * CANDIDATE_FACTOR, MIN_CANDIDATES) if mode == "hybrid" else k
    condition = and_(
        compile_filter(FileChunk.attributes, body.filters), file_is_live(FileChunk.file_id)
    )
    tuning = queries.IndexTuning(
        ef_search=max(settings.search_ef_search, pool),
        max_scan_tuples=settings.search_max_scan_tuples,
        exact_threshold=settings.search_exact_max_chunks,
    )
    target = await queries.open_search(
        session, project_id=project_id, vector_store_id=vector_store_id, tuning=tuning
    )
    if target is None:
        raise vector_stores.store_not_found(vector_store_id)
    vector_weight, text_weight = _weights(body)
    lists: list[Ranked] = []
    if mode == "vector" or (mode == "hybrid" and vector_weight > 0):
        cache = query_cache(embedders, target.model)
        for embedding in await cache.embed_queries(texts):
            hits = await nearest(session, vector_store_id, embedding, condition, pool, target)
            lists.append(Ranked(hits, vector_weight))
    if mode == "keyword" or (mode == "hybrid" and text_weight > 0):
        for query in texts:
            hits = await queries.keyword_hits(
                session,
                vector_store_id=vector_store_id,
                query=query,
                condition=condition,
                limit=pool,
            )
            lists.append(Ranked(hits, text_weight))
    fused = reciprocal_rank_fusion(lists) if mode == "hybrid" else best_of(lists)
    threshold = body.ranking_options.score_threshold if body.ranking_options else 0.0
    kept = [(hit, score) for hit, score in fused if score >= threshold][:k]
    if _due_for_touch(target):
        await _mark_active(writer, vector_store_id)
    return SearchPage(search_query=texts, data=[_result(hit, score) for hit, score in kept])


def query_cache(embedders: EmbedderRegistry, model: ModelSpec) -> QueryEmbeddingCache:
    """The store's own model embeds its queries; keyword search needs none of this."""
    try:
        return embedders.query_cache(model)
    except ModelUnavailable as exc:
        raise InvalidRequest(exc.message, param="vector_store_id") from None


async def nearest(
    session: AsyncSession,
    vector_store_id: str,
    embedding: list[float],
    condition: ColumnElement[bool],
    limit: int,
    target: queries.SearchTarget,
) -> list[queries.Hit]:
    """The index path first; if a selective filter made the iterative scan give up with
    fewer than `limit` rows, the exact path is the only way to find the rest."""
    hits = await queries.vector_hits(
        session,
        vector_store_id=vector_store_id,
        embedding=embedding,
        condition=condition,
        limit=limit,
        exact=target.exact,
        dimensions=target.model.dimensions,
    )
    if target.exact or len(hits) >= limit or isinstance(condition, True_):
        return hits
    return await queries.vector_hits(
        session,
        vector_store_id=vector_store_id,
        embedding=embedding,
        condition=condition,
        limit=limit,
        exact=True,
        dimensions=target.model.dimensions,
    )


def _due_for_touch(target: queries.SearchTarget) -> bool:
    """Searching is activity, recorded at most once a minute so searches stay read-only;
    an expired store stays expired."""
    now = utcnow()
    if target.expires_at is not None and target.expires_at <= now:
        return False
    return now - target.last_active_at > ACTIVITY_RESOLUTION


async def _mark_active(session: AsyncSession, vector_store_id: str) -> None:
    await session.execute(
        update(VectorStore)
        .where(VectorStore.id == vector_store_id)
        .values(
            last_active_at=func.now(),
            expires_at=func.now() + func.make_interval(0, 0, 0, VectorStore.expires_after_days),
        )
    )


def _result(hit: queries.Hit, score: float) -> SearchResult:
    return SearchResult(
        file_id=hit.file_id,
        filename=hit.filename,
        score=round(score, 6),
        attributes=hit.attributes,
        content=[ContentPart(text=hit.text)],
    )
