"""Search: run the retrieval legs the request asks for, fuse them, apply the threshold.

Scores, by mode (all 0..1, higher is better):
- `vector`: cosine similarity, 1 - cosine distance (floored at 0).
- `keyword`: Okapi BM25 divided by the query's ceiling (`db.bm25`).
- `hybrid`: the fusion of both legs (`services.ranking`, chosen in `search_plan`).
With several queries, `vector` and `keyword` keep a chunk's best score and `hybrid`
fuses every query's lists.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, and_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import func
from sqlalchemy.sql.elements import True_

from maia_vectordb.config import Settings
from maia_vectordb.db import bm25
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
from maia_vectordb.schemas.search import SearchPage, SearchRequest, SearchResult
from maia_vectordb.schemas.vector_store_files import ContentPart
from maia_vectordb.services import vector_stores
from maia_vectordb.services.ranking import (
    Ranked,
    best_of,
    convex_fusion,
    reciprocal_rank_fusion,
)
from maia_vectordb.services.search_plan import (
    Fusion,
    candidate_depth,
    fusion_for,
    resolve_mode,
)
from maia_vectordb.services.timeutil import utcnow

ACTIVITY_RESOLUTION = timedelta(minutes=1)
Hits = Sequence[Ranked[queries.Hit]]


def fuse(lists: Hits, fusion: Fusion) -> list[tuple[queries.Hit, float]]:
    if fusion.method == "rrf":
        return reciprocal_rank_fusion(lists, k=fusion.rrf_k)
    return convex_fusion(lists)


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
    pool = candidate_depth(body, mode)
    fusion = fusion_for(body.ranking_options)
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
    leg = Leg(session, vector_store_id, condition, pool)
    lists: list[Ranked[queries.Hit]] = []
    if mode == "vector" or (mode == "hybrid" and fusion.vector_weight > 0):
        cache = query_cache(embedders, target.model)
        for embedding in await cache.embed_queries(texts):
            hits = await nearest(session, vector_store_id, embedding, condition, pool, target)
            lists.append(Ranked(hits, fusion.vector_weight, fusion.vector_normalisation))
    if mode == "keyword" or (mode == "hybrid" and fusion.text_weight > 0):
        for query in texts:
            lists.append(
                Ranked(await leg.keyword(query), fusion.text_weight, fusion.text_normalisation)
            )
    fused = fuse(lists, fusion) if mode == "hybrid" else best_of(lists)
    threshold = body.ranking_options.score_threshold if body.ranking_options else 0.0
    kept = [(hit, score) for hit, score in fused if score >= threshold][: body.max_num_results]
    if _due_for_touch(target):
        await _mark_active(writer, vector_store_id)
    return SearchPage(search_query=texts, data=[_result(hit, score) for hit, score in kept])


def query_cache(embedders: EmbedderRegistry, model: ModelSpec) -> QueryEmbeddingCache:
    """The store's own model embeds its queries; keyword search needs none of this."""
    try:
        return embedders.query_cache(model)
    except ModelUnavailable as exc:
        raise InvalidRequest(exc.message, param="vector_store_id") from None


@dataclass(frozen=True)
class Leg:
    """What every keyword retrieval of one search shares."""

    session: AsyncSession
    vector_store_id: str
    condition: ColumnElement[bool]
    limit: int

    async def keyword(self, query: str) -> list[queries.Hit]:
        return await bm25.keyword_hits(
            self.session,
            vector_store_id=self.vector_store_id,
            query=query,
            condition=self.condition,
            limit=self.limit,
        )


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
