"""An error's `param` names the field as the client sent it: no union tags, no wrappers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

STATIC = {"type": "static", "static": {"max_chunk_size_tokens": 5, "chunk_overlap_tokens": 0}}
CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "files",
        {"file_id": "file-x", "chunking_strategy": STATIC},
        "chunking_strategy.static.max_chunk_size_tokens",
    ),
    (
        "search",
        {"query": "x", "filters": {"type": "eq", "key": "k", "value": {"a": 1}}},
        "filters.value",
    ),
    (
        "search",
        {
            "query": "x",
            "filters": {
                "type": "and",
                "filters": [
                    {"type": "eq", "key": "k", "value": 1},
                    {"type": "or", "filters": [{"type": "gt", "key": "k", "value": [1]}]},
                ],
            },
        },
        "filters.filters[1].filters[0]",  # the comparison as a whole: its op and value
    ),
    ("search", {"query": "x", "filters": {"type": "eq", "value": 1}}, "filters.key"),
    ("search", {"query": "x", "filters": {"type": "and"}}, "filters.filters"),
    ("search", {"query": "x", "filters": {"type": "and", "filters": [5]}}, "filters.filters[0]"),
    ("search", {"query": "x", "filters": [{"type": "eq"}]}, "filters"),
    (
        "files",
        {"file_id": "f", "chunking_strategy": {"type": "static", "static": 5}},
        "chunking_strategy.static",
    ),
    (
        "files",
        {"file_id": "f", "chunking_strategy": {"type": "static"}},
        "chunking_strategy.static",
    ),
    (
        "files",
        {"file_id": "f", "chunking_strategy": {"type": "auto", "auto": 1}},
        "chunking_strategy.auto",
    ),
    (
        "file_batches",
        {"files": [{"file_id": "f", "chunking_strategy": {"type": "static", "static": [1]}}]},
        "files[0].chunking_strategy.static",
    ),
    (
        "search",
        {"query": "x", "ranking_options": {"score_threshold": 2}},
        "ranking_options.score_threshold",
    ),
]


@pytest.mark.parametrize(("path", "body", "param"), CASES)
async def test_param_is_the_requests_own_path(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], param: str
) -> None:
    store = (await client.post("/v1/vector_stores", json={})).json()["id"]
    response = await client.post(f"/v1/vector_stores/{store}/{path}", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param, error
    assert f"'{param}'" in error["message"]


@pytest.mark.parametrize(
    ("query", "says"),
    [([], "at least one query"), (["a"] * 17, "at most 16 queries"), (["a", " "], "empty")],
)
async def test_a_list_of_queries_is_refused_for_what_is_wrong_with_it(
    client: httpx.AsyncClient, query: list[str], says: str
) -> None:
    """Not "must be a valid string", the scalar branch's complaint about any list."""
    store = (await client.post("/v1/vector_stores", json={})).json()["id"]
    response = await client.post(f"/v1/vector_stores/{store}/search", json={"query": query})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "query"
    assert says in error["message"], error


@pytest.mark.parametrize("body", [b'{"query": "x",}', b"{", b'{"query": "x"} trailing'])
async def test_a_body_that_is_no_json_names_no_param(
    client: httpx.AsyncClient, body: bytes
) -> None:
    store = (await client.post("/v1/vector_stores", json={})).json()["id"]
    response = await client.post(
        f"/v1/vector_stores/{store}/search",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] is None
    assert error["code"] == "invalid_json"
    assert "could not parse the JSON body" in error["message"]
