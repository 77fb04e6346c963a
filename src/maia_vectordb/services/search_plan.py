"""What a search request asks for: its mode, its candidate depth, and how to fuse.

The request shapes accepted (OpenAI's and the documented extensions) map here onto one
`Fusion`, so the search service never reads ranking options itself:

- `search_mode` wins; otherwise `ranker: "none"` is vector search and the rest hybrid.
- `ranker: "rrf"` with `impact_factor` (llama-stack): reciprocal rank fusion, k = factor.
- `ranker: "weighted"` with `alpha` (llama-stack): the default fusion with weights
  alpha (vector) and 1 - alpha (keyword).
- `hybrid_search {embedding_weight, text_weight}` (OpenAI's file_search shape): weights.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from maia_vectordb.schemas.search import RankingOptions, SearchMode, SearchRequest
from maia_vectordb.services.ranking import DEFAULT_RRF_K, FusionMethod, Normalisation

CANDIDATE_FACTOR = 4
MIN_CANDIDATES = 40


@dataclass(frozen=True)
class Fusion:
    method: FusionMethod = "convex"
    vector_normalisation: Normalisation = "none"
    text_normalisation: Normalisation = "max"
    rrf_k: float = DEFAULT_RRF_K
    vector_weight: float = 1.0
    text_weight: float = 1.0


DEFAULT_FUSION = Fusion()


def resolve_mode(body: SearchRequest) -> SearchMode:
    """`search_mode` wins; otherwise `ranker: none` is pure vector and the rest hybrid."""
    if body.search_mode is not None:
        return body.search_mode
    options = body.ranking_options
    if options is not None and options.ranker == "none":
        return "vector"
    return "hybrid"


def candidate_depth(body: SearchRequest, mode: SearchMode) -> int:
    """Each hybrid leg fetches more than it returns, so fusion can promote what one leg
    ranks low; a single leg needs only the page."""
    k = body.max_num_results
    return max(k * CANDIDATE_FACTOR, MIN_CANDIDATES) if mode == "hybrid" else k


def fusion_for(options: RankingOptions | None) -> Fusion:
    if options is None:
        return DEFAULT_FUSION
    vector_weight, text_weight = _weights(options)
    if options.ranker == "rrf":
        k = options.impact_factor if options.impact_factor is not None else DEFAULT_RRF_K
        return replace(
            DEFAULT_FUSION,
            method="rrf",
            rrf_k=k,
            vector_weight=vector_weight,
            text_weight=text_weight,
        )
    if options.ranker == "weighted" and options.alpha is not None:
        vector_weight, text_weight = options.alpha, 1.0 - options.alpha
    return replace(DEFAULT_FUSION, vector_weight=vector_weight, text_weight=text_weight)


def _weights(options: RankingOptions) -> tuple[float, float]:
    hybrid = options.hybrid_search
    if hybrid is None or hybrid.embedding_weight + hybrid.text_weight == 0:
        return 1.0, 1.0
    return hybrid.embedding_weight, hybrid.text_weight
