"""Filters are bounded as a whole, before compiling: oversized ones are a quick 400.

The bound is walked on the raw JSON with early exit, so even a filter of 100k
clauses never becomes 100k models, SQL nodes or bind parameters.
"""

from __future__ import annotations

import json

import httpx
import pytest

from maia_vectordb.schemas.filters import (
    MAX_FILTER_CHARS,
    MAX_FILTER_CLAUSES,
    MAX_FILTER_DEPTH,
    MAX_FILTER_NODES,
)


def _eq(i: int) -> dict[str, object]:
    return {"type": "eq", "key": f"k{i}", "value": i}


def _nested(depth: int) -> dict[str, object]:
    node: dict[str, object] = _eq(0)
    for _ in range(depth - 1):
        node = {"type": "and", "filters": [node]}
    return node


def _wide_tree(levels: int, fanout: int) -> dict[str, object]:
    """`fanout` clauses per level, `levels` deep: fanout ** levels leaves in total."""
    if levels == 1:
        return {"type": "or", "filters": [_eq(i) for i in range(fanout)]}
    return {"type": "or", "filters": [_wide_tree(levels - 1, fanout) for _ in range(fanout)]}


@pytest.fixture
async def store(client: httpx.AsyncClient) -> str:
    response = await client.post("/v1/vector_stores", json={"name": "bounds"})
    return str(response.json()["id"])


async def _search(client: httpx.AsyncClient, store: str, filters: object) -> httpx.Response:
    body = json.dumps({"query": "anything", "filters": filters}, separators=(",", ":"))
    return await client.post(
        f"/v1/vector_stores/{store}/search",
        content=body.encode(),
        headers={"content-type": "application/json"},
    )


def _assert_filters_400(response: httpx.Response, fragment: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "filters"
    assert fragment in error["message"]


class TestWholeFilterBound:
    async def test_largest_allowed_shape_is_accepted(
        self, client: httpx.AsyncClient, store: str
    ) -> None:
        filters = _wide_tree(2, 16)
        response = await _search(client, store, filters)
        assert response.status_code == 200, response.text

    async def test_deep_nesting_is_400(self, client: httpx.AsyncClient, store: str) -> None:
        too_deep = await _search(client, store, _nested(MAX_FILTER_DEPTH + 1))
        _assert_filters_400(too_deep, "nest")
        deepest = await _search(client, store, _nested(MAX_FILTER_DEPTH))
        assert deepest.status_code == 200

    async def test_hundreds_of_levels_is_400(self, client: httpx.AsyncClient, store: str) -> None:
        levels = 400
        filters = '{"type": "and", "filters": [' * levels + json.dumps(_eq(0)) + "]}" * levels
        response = await client.post(
            f"/v1/vector_stores/{store}/search",
            content=f'{{"query": "q", "filters": {filters}}}'.encode(),
            headers={"content-type": "application/json"},
        )
        _assert_filters_400(response, "nest")

    async def test_too_many_clauses_in_one_level_is_400(
        self, client: httpx.AsyncClient, store: str
    ) -> None:
        wide = {"type": "and", "filters": [_eq(i) for i in range(MAX_FILTER_CLAUSES + 1)]}
        _assert_filters_400(await _search(client, store, wide), "at most")

    async def test_98k_clauses_is_400(self, client: httpx.AsyncClient, store: str) -> None:
        flat = {"type": "and", "filters": [{"type": "eq", "key": "k", "value": 1}] * 98_000}
        _assert_filters_400(await _search(client, store, flat), "at most")

    async def test_total_clauses_are_bounded_within_per_level_limits(
        self, client: httpx.AsyncClient, store: str
    ) -> None:
        """64 per level and 6 levels would allow 64**6 leaves; the total bound stops it."""
        filters = _wide_tree(3, 40)
        assert len(json.dumps(filters)) > 160 * 1024
        _assert_filters_400(await _search(client, store, filters), str(MAX_FILTER_NODES))

    async def test_list_values_count_toward_the_total(
        self, client: httpx.AsyncClient, store: str
    ) -> None:
        member = {"type": "in", "key": "k", "value": list(range(100))}
        filters = {"type": "or", "filters": [member] * 6}
        _assert_filters_400(await _search(client, store, filters), str(MAX_FILTER_NODES))

    async def test_total_text_is_bounded(self, client: httpx.AsyncClient, store: str) -> None:
        long = "x" * 4000
        filters = {"type": "or", "filters": [{"type": "eq", "key": "k", "value": long}] * 10}
        _assert_filters_400(await _search(client, store, filters), str(MAX_FILTER_CHARS))

    async def test_deeply_nested_json_body_is_a_400(
        self, client: httpx.AsyncClient, store: str
    ) -> None:
        body = '{"query": "q", "filters": ' + '{"type": "and", "filters": [' * 50_000
        response = await client.post(
            f"/v1/vector_stores/{store}/search",
            content=body.encode(),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 400
