"""Search through the SDK: modes, filters, thresholds, and the results page shape."""

from __future__ import annotations

import httpx
import openai
import pytest
from openai import AsyncOpenAI
from openai.types import VectorStoreSearchResponse

DOCS = {
    "fox.txt": ("The quick brown fox jumps over the lazy dog.", {"lang": "en", "year": 2020}),
    "cats.txt": ("Cats sleep most of the day and purr loudly.", {"lang": "en", "year": 2023}),
    "zorro.txt": ("El zorro marrón salta sobre el perro perezoso.", {"lang": "es", "year": 2021}),
    "ships.md": (
        "# Ships\nContainer ships carry cargo across oceans.",
        {"lang": "en", "draft": True},
    ),
}


@pytest.fixture
async def store_id(sdk: AsyncOpenAI) -> str:
    store = await sdk.vector_stores.create(name="search")
    ids = []
    for name, (body, attributes) in DOCS.items():
        made = await sdk.files.create(file=(name, body.encode()), purpose="assistants")
        ids.append({"file_id": made.id, "attributes": attributes})
    batch = await sdk.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id,
        files=ids,
        poll_interval_ms=50,  # type: ignore[arg-type]
    )
    assert batch.file_counts.completed == len(DOCS)
    return store.id


async def _names(sdk: AsyncOpenAI, store_id: str, **kwargs: object) -> list[str]:
    page = await sdk.vector_stores.search(vector_store_id=store_id, **kwargs)  # type: ignore[arg-type]
    return [hit.filename for hit in page.data]


class TestModes:
    async def test_default_hybrid_finds_the_matching_file_first(
        self, sdk: AsyncOpenAI, store_id: str
    ) -> None:
        page = await sdk.vector_stores.search(vector_store_id=store_id, query="lazy dog fox")
        assert page.data[0].filename == "fox.txt"
        assert page.search_query == ["lazy dog fox"]
        assert all(0.0 <= hit.score <= 1.0 for hit in page.data)
        assert page.data[0].content[0].type == "text"
        assert "fox" in page.data[0].content[0].text

    @pytest.mark.parametrize("mode", ["vector", "keyword", "hybrid"])
    async def test_search_mode_extension(self, sdk: AsyncOpenAI, store_id: str, mode: str) -> None:
        names = await _names(sdk, store_id, query="cargo ships", extra_body={"search_mode": mode})
        assert names[0] == "ships.md"

    async def test_keyword_mode_returns_only_text_matches(
        self, sdk: AsyncOpenAI, store_id: str
    ) -> None:
        names = await _names(sdk, store_id, query="purr", extra_body={"search_mode": "keyword"})
        assert names == ["cats.txt"]

    async def test_ranker_none_is_vector_similarity(self, sdk: AsyncOpenAI, store_id: str) -> None:
        page = await sdk.vector_stores.search(
            vector_store_id=store_id, query="cats purr", ranking_options={"ranker": "none"}
        )
        assert page.data[0].filename == "cats.txt"
        scores = [hit.score for hit in page.data]
        assert scores == sorted(scores, reverse=True)

    async def test_query_list_is_fused(self, sdk: AsyncOpenAI, store_id: str) -> None:
        page = await sdk.vector_stores.search(
            vector_store_id=store_id, query=["cats purr", "container ships"]
        )
        assert page.search_query == ["cats purr", "container ships"]
        assert {hit.filename for hit in page.data[:2]} == {"cats.txt", "ships.md"}

    async def test_score_threshold_drops_weak_hits(self, sdk: AsyncOpenAI, store_id: str) -> None:
        page = await sdk.vector_stores.search(
            vector_store_id=store_id,
            query="fox",
            ranking_options={"ranker": "none", "score_threshold": 0.2},
        )
        assert page.data
        assert all(hit.score >= 0.2 for hit in page.data)
        assert len(page.data) < len(DOCS)

    async def test_max_num_results(self, sdk: AsyncOpenAI, store_id: str) -> None:
        page = await sdk.vector_stores.search(
            vector_store_id=store_id, query="the", max_num_results=2
        )
        assert len(page.data) <= 2

    async def test_hybrid_weights_are_accepted(self, sdk: AsyncOpenAI, store_id: str) -> None:
        names = await _names(
            sdk,
            store_id,
            query="purr",
            ranking_options={"hybrid_search": {"embedding_weight": 0.0, "text_weight": 1.0}},
        )
        assert names == ["cats.txt"]

    async def test_hybrid_threshold_keeps_only_chunks_both_legs_support(
        self, sdk: AsyncOpenAI, store_id: str
    ) -> None:
        page = await sdk.vector_stores.search(
            vector_store_id=store_id,
            query="cats purr",
            ranking_options={"score_threshold": 0.5},
        )
        assert [hit.filename for hit in page.data] == ["cats.txt"]

    async def test_llama_stack_rrf_ranker(self, sdk: AsyncOpenAI, store_id: str) -> None:
        options = {"ranker": "rrf", "impact_factor": 10.0}
        names = await _names(sdk, store_id, query="cargo ships", ranking_options=options)
        assert names[0] == "ships.md"

    @pytest.mark.parametrize(("alpha", "first"), [(0.0, "cats.txt"), (1.0, "cats.txt")])
    async def test_llama_stack_weighted_ranker(
        self, sdk: AsyncOpenAI, store_id: str, alpha: float, first: str
    ) -> None:
        options = {"ranker": "weighted", "alpha": alpha}
        names = await _names(sdk, store_id, query="cats purr", ranking_options=options)
        assert names[0] == first
        if alpha == 0.0:
            assert names == ["cats.txt"]

    async def test_ranker_option_for_another_ranker_is_400(
        self, client: httpx.AsyncClient, store_id: str
    ) -> None:
        body = {"query": "x", "ranking_options": {"ranker": "rrf", "alpha": 0.5}}
        response = await client.post(f"/v1/vector_stores/{store_id}/search", json=body)
        assert response.status_code == 400
        assert response.json()["error"]["param"].startswith("ranking_options")

    async def test_rewrite_query_is_accepted_and_reported(
        self, sdk: AsyncOpenAI, store_id: str
    ) -> None:
        page = await sdk.vector_stores.search(
            vector_store_id=store_id, query="fox", rewrite_query=True
        )
        assert page.search_query == ["fox"]


class TestFilters:
    async def test_eq(self, sdk: AsyncOpenAI, store_id: str) -> None:
        names = await _names(
            sdk, store_id, query="fox dog", filters={"type": "eq", "key": "lang", "value": "es"}
        )
        assert names == ["zorro.txt"]

    async def test_numbers_compare_as_numbers(self, sdk: AsyncOpenAI, store_id: str) -> None:
        names = await _names(
            sdk, store_id, query="the", filters={"type": "gte", "key": "year", "value": 2021}
        )
        assert sorted(names) == ["cats.txt", "zorro.txt"]

    async def test_string_never_equals_number(self, sdk: AsyncOpenAI, store_id: str) -> None:
        names = await _names(
            sdk, store_id, query="the", filters={"type": "eq", "key": "year", "value": "2020"}
        )
        assert names == []

    async def test_booleans(self, sdk: AsyncOpenAI, store_id: str) -> None:
        names = await _names(
            sdk, store_id, query="ships", filters={"type": "eq", "key": "draft", "value": True}
        )
        assert names == ["ships.md"]

    async def test_missing_key_never_matches_ne(self, sdk: AsyncOpenAI, store_id: str) -> None:
        names = await _names(
            sdk, store_id, query="the", filters={"type": "ne", "key": "draft", "value": False}
        )
        assert names == ["ships.md"]

    async def test_in_and_nin(self, sdk: AsyncOpenAI, store_id: str) -> None:
        inside = await _names(
            sdk,
            store_id,
            query="the",
            filters={"type": "in", "key": "year", "value": [2020, 2023]},
        )
        outside = await _names(
            sdk,
            store_id,
            query="the",
            filters={"type": "nin", "key": "year", "value": [2020, 2023]},
        )
        assert sorted(inside) == ["cats.txt", "fox.txt"]
        assert outside == ["zorro.txt"]

    @pytest.mark.parametrize("mode", ["vector", "keyword", "hybrid"])
    async def test_empty_in_matches_nothing_and_empty_nin_every_file_with_the_key(
        self, sdk: AsyncOpenAI, store_id: str, mode: str
    ) -> None:
        """The SDKs' types allow an empty list; a program that builds one gets set logic."""
        either = {
            "type": "or",
            "filters": [
                {"type": "in", "key": "year", "value": []},
                {"type": "eq", "key": "lang", "value": "es"},
            ],
        }
        inside, outside, either_names = [
            await _names(
                sdk,
                store_id,
                query="fox cats zorro",
                filters=filters,
                extra_body={"search_mode": mode},
            )
            for filters in (
                {"type": "in", "key": "year", "value": []},
                {"type": "nin", "key": "year", "value": []},
                either,
            )
        ]
        assert inside == []
        assert sorted(outside) == ["cats.txt", "fox.txt", "zorro.txt"]
        assert either_names == ["zorro.txt"]

    async def test_nested_compound(self, sdk: AsyncOpenAI, store_id: str) -> None:
        filters = {
            "type": "or",
            "filters": [
                {"type": "eq", "key": "lang", "value": "es"},
                {
                    "type": "and",
                    "filters": [
                        {"type": "eq", "key": "lang", "value": "en"},
                        {"type": "lt", "key": "year", "value": 2021},
                    ],
                },
            ],
        }
        names = await _names(sdk, store_id, query="the dog", filters=filters)
        assert sorted(names) == ["fox.txt", "zorro.txt"]

    async def test_injection_attempt_is_just_a_key(self, sdk: AsyncOpenAI, store_id: str) -> None:
        names = await _names(
            sdk,
            store_id,
            query="the",
            filters={"type": "eq", "key": "lang'); DROP TABLE file_chunks; --", "value": "x"},
        )
        assert names == []
        assert await _names(sdk, store_id, query="fox")

    @pytest.mark.parametrize(
        ("filters", "fragment"),
        [
            ({"type": "in", "key": "year", "value": 2020}, "list"),
            ({"type": "eq", "key": "year", "value": [1]}, "single value"),
            ({"type": "like", "key": "year", "value": 1}, "filters"),
            ({"type": "and", "filters": []}, "filters"),
            ({"type": "in", "key": "year", "value": list(range(101))}, "at most 100 values"),
        ],
    )
    async def test_malformed_filter_is_400(
        self, client: httpx.AsyncClient, store_id: str, filters: dict[str, object], fragment: str
    ) -> None:
        response = await client.post(
            f"/v1/vector_stores/{store_id}/search", json={"query": "x", "filters": filters}
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["param"].startswith("filters")
        assert fragment in error["message"] or fragment in error["param"]

    async def test_depth_is_bounded(self, client: httpx.AsyncClient, store_id: str) -> None:
        node: dict[str, object] = {"type": "eq", "key": "k", "value": 1}
        for _ in range(10):
            node = {"type": "and", "filters": [node]}
        response = await client.post(
            f"/v1/vector_stores/{store_id}/search", json={"query": "x", "filters": node}
        )
        assert response.status_code == 400


class TestContract:
    async def test_page_validates_with_sdk_types(
        self, client: httpx.AsyncClient, store_id: str
    ) -> None:
        body = (
            await client.post(f"/v1/vector_stores/{store_id}/search", json={"query": "fox"})
        ).json()
        assert body["object"] == "vector_store.search_results.page"
        assert body["has_more"] is False
        assert body["next_page"] is None
        for hit in body["data"]:
            VectorStoreSearchResponse.model_validate(hit)

    async def test_unknown_store_is_404(self, sdk: AsyncOpenAI) -> None:
        with pytest.raises(openai.NotFoundError):
            await sdk.vector_stores.search(vector_store_id="vs_nope", query="x")

    async def test_blank_query_is_400(self, client: httpx.AsyncClient, store_id: str) -> None:
        response = await client.post(f"/v1/vector_stores/{store_id}/search", json={"query": " "})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "query"

    async def test_max_num_results_bounds(self, client: httpx.AsyncClient, store_id: str) -> None:
        response = await client.post(
            f"/v1/vector_stores/{store_id}/search", json={"query": "x", "max_num_results": 51}
        )
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "max_num_results"

    async def test_detached_files_never_appear(self, sdk: AsyncOpenAI, store_id: str) -> None:
        page = await sdk.vector_stores.search(vector_store_id=store_id, query="purr")
        cats = page.data[0].file_id
        await sdk.vector_stores.files.delete(file_id=cats, vector_store_id=store_id)
        after = await sdk.vector_stores.search(vector_store_id=store_id, query="purr")
        assert cats not in {hit.file_id for hit in after.data}
