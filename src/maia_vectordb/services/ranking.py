"""Fusion and score normalisation for hybrid search: pure functions, no I/O.

Each retrieval leg yields a ranked list of (item, score in 0..1). Fusion methods:

- `rrf`: reciprocal rank fusion, Σ wᵢ / (k + rankᵢ), scaled by its maximum (first in
  every list = 1). Uses ranks only.
- `convex`: Σ wᵢ · normᵢ(score) / Σ wᵢ over normalised scores, each list normalised its
  own way; an item absent from a list contributes 0 for it. Normalisations: `none`
  (the leg's own 0..1 score), `max` (score / the list's best: a theoretical minimum of
  0 with the observed maximum, "TM2C2" in Bruch et al. 2023), `minmax`,
  `zscore` (mean ± 3 standard deviations mapped to 0..1, "distribution-based").

The default and its figures are in docs/search-quality.md.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, Protocol, TypeVar

Normalisation = Literal["none", "max", "minmax", "zscore"]
FusionMethod = Literal["rrf", "convex"]
DEFAULT_RRF_K = 60


class Scored(Protocol):
    @property
    def chunk_id(self) -> int: ...

    @property
    def score(self) -> float: ...


T = TypeVar("T", bound=Scored)


@dataclass(frozen=True)
class Ranked(Generic[T]):
    """One leg's list, best first, and its weight in the fusion."""

    hits: Sequence[T]
    weight: float
    normalisation: Normalisation = "max"
    """How `convex_fusion` maps this list's scores to 0..1 (legs differ: cosine
    similarity is already absolute, BM25 is not)."""


def _scaled_max(scores: Sequence[float]) -> list[float]:
    top = max(scores)
    return [s / top if top > 0 else 0.0 for s in scores]


def _minmax(scores: Sequence[float]) -> list[float]:
    low, high = min(scores), max(scores)
    return [(s - low) / (high - low) if high > low else 1.0 for s in scores]


def _zscore(scores: Sequence[float]) -> list[float]:
    mean = statistics.fmean(scores)
    spread = 3 * statistics.pstdev(scores)
    if spread == 0:
        return [1.0 for _ in scores]
    return [min(1.0, max(0.0, (s - mean + spread) / (2 * spread))) for s in scores]


NORMALISERS: dict[Normalisation, Callable[[Sequence[float]], list[float]]] = {
    "none": list,
    "max": _scaled_max,
    "minmax": _minmax,
    "zscore": _zscore,
}


def normalise(scores: Sequence[float], method: Normalisation) -> list[float]:
    """Scores of one list mapped to 0..1 by `method`; an empty list stays empty."""
    return NORMALISERS[method](scores) if scores else []


def _sorted(scores: dict[int, float], items: dict[int, T]) -> list[tuple[T, float]]:
    fused = [(items[cid], min(1.0, score)) for cid, score in scores.items()]
    return sorted(fused, key=lambda pair: (-pair[1], pair[0].chunk_id))


def reciprocal_rank_fusion(
    lists: Sequence[Ranked[T]], k: float = DEFAULT_RRF_K
) -> list[tuple[T, float]]:
    """Σ wᵢ / (k + rankᵢ), divided by the score of an item ranked first in every list."""
    ceiling = sum(r.weight / (k + 1) for r in lists if r.hits) or 1.0
    scores: dict[int, float] = defaultdict(float)
    items: dict[int, T] = {}
    for ranked in lists:
        for position, hit in enumerate(ranked.hits, start=1):
            scores[hit.chunk_id] += ranked.weight / (k + position) / ceiling
            items.setdefault(hit.chunk_id, hit)
    return _sorted(scores, items)


def convex_fusion(lists: Sequence[Ranked[T]]) -> list[tuple[T, float]]:
    """Σ wᵢ · normᵢ(score) / Σ wᵢ; the weights of every list count, empty or not, so an
    item found by one leg alone can score at most that leg's share."""
    total = sum(r.weight for r in lists) or 1.0
    scores: dict[int, float] = defaultdict(float)
    items: dict[int, T] = {}
    for ranked in lists:
        normalised = normalise([h.score for h in ranked.hits], ranked.normalisation)
        for hit, value in zip(ranked.hits, normalised, strict=True):
            scores[hit.chunk_id] += ranked.weight * value / total
            items.setdefault(hit.chunk_id, hit)
    return _sorted(scores, items)


def best_of(lists: Sequence[Ranked[T]]) -> list[tuple[T, float]]:
    """One leg (over one or more queries): each item at its best score."""
    best: dict[int, float] = {}
    items: dict[int, T] = {}
    for ranked in lists:
        for hit in ranked.hits:
            if hit.score > best.get(hit.chunk_id, -1.0):
                best[hit.chunk_id], items[hit.chunk_id] = hit.score, hit
    return _sorted(best, items)
