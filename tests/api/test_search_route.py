"""The search route reads its own path and body (`api/search.py`'s `SearchRoute`, which
skips FastAPI's per-request dependency solving): every request must get the answer
FastAPI's own handler gives the same signature, byte for byte, bad input above all.

The reference is the same handler mounted a second time with FastAPI's `APIRoute`."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from maia_vectordb.api import search
from maia_vectordb.api.search import SearchRoute, search_vector_store

PATH = "/v1/vector_stores/{}/search"
REFERENCE = "/v1/reference_search/{vector_store_id}/search"
JSON = "application/json"
LONG_ID = "vs_" + "x" * 70

# (store id, body bytes, content type or None)
REQUESTS = [
    ("vs_missing", b'{"query": "fox"}', JSON),
    ("vs_missing", b'{"query": "fox"', JSON),
    ("vs_missing", b"\xff\xfe{}", JSON),
    ("vs_missing", b"", JSON),
    ("vs_missing", b"null", JSON),
    ("vs_missing", b"[]", JSON),
    ("vs_missing", b'"fox"', JSON),
    ("vs_missing", b'{"query": "fox"}', None),
    ("vs_missing", b'{"query": "fox"}', "text/plain"),
    ("vs_missing", b'{"query": "fox"}', "application/merge-patch+json; charset=utf-8"),
    ("vs_missing", b'{"query": "fox"}', "Application/JSON ; charset=utf-8"),
    ("vs_missing", b'{"query": "fox", "unknown": 1}', JSON),
    ("vs_missing", b'{"query": ""}', JSON),
    ("vs_missing", b'{"query": "fox", "max_num_results": "5"}', JSON),
    ("vs_missing", b'{"query": "fox", "filters": {"type": "eq", "key": "k"}}', JSON),
    ("vs_missing", b'{"query": "a\\u0000b"}', JSON),
    ("vs_missing", b'{"query": "x\\ud800y"}', JSON),
    ("vs_missing", b'{"query": NaN}', JSON),
    ("vs_missing", b'{"query": "fox", "ranking_options": {"score_threshold": 1e999}}', JSON),
    (LONG_ID, b'{"query": "fox"}', JSON),
    (LONG_ID, b'{"query": 5}', JSON),
    (LONG_ID, b"{", JSON),
    ("vs_%00", b'{"query": "fox"}', JSON),
]


@pytest.fixture
def reference(app: FastAPI) -> FastAPI:
    """The same handler, solved and validated by FastAPI itself."""
    app.router.add_api_route(
        REFERENCE, search_vector_store, methods=["POST"], route_class_override=APIRoute
    )
    return app


def test_the_search_router_serves_through_search_route() -> None:
    assert [type(route) for route in search.router.routes] == [SearchRoute]


@pytest.mark.parametrize(("store", "body", "content_type"), REQUESTS)
async def test_answers_as_fastapi_would(
    reference: FastAPI, client: httpx.AsyncClient, store: str, body: bytes, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    ours = await client.post(PATH.format(store), content=body, headers=headers)
    theirs = await client.post(
        REFERENCE.replace("{vector_store_id}", store), content=body, headers=headers
    )
    assert ours.status_code == theirs.status_code, (ours.text, theirs.text)
    assert ours.json() == theirs.json()
    assert ours.headers["content-type"] == theirs.headers["content-type"]
    assert ours.status_code in {400, 404}
    if ours.status_code == 400:
        assert ours.json()["error"]["type"] == "invalid_request_error"


async def test_a_search_page_is_the_same_json(
    reference: FastAPI, client: httpx.AsyncClient
) -> None:
    store = (await client.post("/v1/vector_stores", json={"name": "empty"})).json()["id"]
    body = {"query": "fox", "search_mode": "keyword"}
    ours = await client.post(PATH.format(store), json=body)
    theirs = await client.post(REFERENCE.replace("{vector_store_id}", store), json=body)
    assert ours.status_code == theirs.status_code == 200
    assert ours.content == theirs.content
    assert ours.json()["object"] == "vector_store.search_results.page"
