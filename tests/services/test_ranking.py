"""Fusion and normalisation: pure functions, checked on hand-made lists."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from maia_vectordb.schemas.search import RankingOptions
from maia_vectordb.services.ranking import (
    Ranked,
    best_of,
    convex_fusion,
    normalise,
    reciprocal_rank_fusion,
)
from maia_vectordb.services.search_plan import DEFAULT_FUSION, fusion_for


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    score: float


def _ids(fused: list[tuple[Hit, float]]) -> list[int]:
    return [hit.chunk_id for hit, _ in fused]


VECTOR = Ranked([Hit(1, 0.9), Hit(2, 0.8), Hit(3, 0.4)], 1.0)
KEYWORD = Ranked([Hit(3, 0.6), Hit(4, 0.3)], 1.0)


class TestNormalise:
    @pytest.mark.parametrize(
        ("method", "expected"),
        [
            ("none", [0.8, 0.4, 0.2]),
            ("max", [1.0, 0.5, 0.25]),
            ("minmax", [1.0, 1 / 3, 0.0]),
        ],
    )
    def test_methods(self, method: str, expected: list[float]) -> None:
        assert normalise([0.8, 0.4, 0.2], method) == pytest.approx(expected)  # type: ignore[arg-type]

    def test_zscore_maps_three_deviations_to_the_unit_interval(self) -> None:
        values = normalise([1.0, 2.0, 3.0], "zscore")
        assert values[1] == pytest.approx(0.5)
        assert 0.0 < values[0] < values[1] < values[2] < 1.0

    @pytest.mark.parametrize("method", ["none", "max", "minmax", "zscore"])
    def test_empty_and_flat_lists(self, method: str) -> None:
        assert normalise([], method) == []  # type: ignore[arg-type]
        assert all(0.0 <= v <= 1.0 for v in normalise([0.3, 0.3], method))  # type: ignore[arg-type]


class TestReciprocalRankFusion:
    def test_first_in_every_list_scores_one(self) -> None:
        fused = reciprocal_rank_fusion([VECTOR, Ranked([Hit(1, 0.1)], 1.0)], k=60)
        assert fused[0] == (Hit(1, 0.9), pytest.approx(1.0))

    def test_agreement_beats_one_strong_list(self) -> None:
        assert _ids(reciprocal_rank_fusion([VECTOR, KEYWORD], k=1))[0] == 3

    def test_weights_tilt_the_order(self) -> None:
        tilted = [Ranked(VECTOR.hits, 0.1), Ranked(KEYWORD.hits, 1.0)]
        assert _ids(reciprocal_rank_fusion(tilted))[:2] == [3, 4]


class TestConvexFusion:
    def test_a_leg_alone_earns_at_most_its_share(self) -> None:
        fused = {h.chunk_id: s for h, s in convex_fusion([VECTOR, KEYWORD])}
        assert fused[1] == pytest.approx(0.5)
        assert fused[3] == pytest.approx((0.4 / 0.9 + 1.0) / 2)

    def test_empty_leg_still_counts_its_weight(self) -> None:
        fused = convex_fusion([Ranked(VECTOR.hits, 1.0, "none"), Ranked([], 1.0)])
        assert [s for _, s in fused] == pytest.approx([0.45, 0.4, 0.2])

    def test_ties_break_by_chunk_id(self) -> None:
        fused = convex_fusion([Ranked([Hit(9, 0.5), Hit(2, 0.5)], 1.0, "none")])
        assert _ids(fused) == [2, 9]


def test_best_of_keeps_each_chunks_best_score() -> None:
    fused = best_of([VECTOR, Ranked([Hit(2, 0.95)], 1.0)])
    assert [(h.chunk_id, s) for h, s in fused] == [(2, 0.95), (1, 0.9), (3, 0.4)]


class TestFusionFor:
    def test_default(self) -> None:
        assert fusion_for(None) == DEFAULT_FUSION

    def test_llama_stack_rrf_impact_factor_is_k(self) -> None:
        fusion = fusion_for(RankingOptions(ranker="rrf", impact_factor=20))
        assert (fusion.method, fusion.rrf_k) == ("rrf", 20)

    def test_llama_stack_weighted_alpha_is_the_vector_weight(self) -> None:
        fusion = fusion_for(RankingOptions(ranker="weighted", alpha=0.25))
        assert (fusion.vector_weight, fusion.text_weight) == (0.25, 0.75)
        assert fusion.method == DEFAULT_FUSION.method

    def test_hybrid_search_weights(self) -> None:
        options = RankingOptions.model_validate(
            {"hybrid_search": {"embedding_weight": 2, "text_weight": 1}}
        )
        assert (fusion_for(options).vector_weight, fusion_for(options).text_weight) == (2, 1)
