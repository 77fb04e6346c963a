"""Schemathesis against a live server, driven by the service's own OpenAPI document:
no input the schema allows (or nearly allows) may produce a 5xx or an undocumented shape."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.app import create_app
from maia_vectordb.config import Settings
from tests.e2e.conftest import serving

pytestmark = pytest.mark.e2e

schema = schemathesis.openapi.from_dict(
    create_app(
        Settings(DATABASE_URL="postgresql://unused@localhost/unused", _env_file=None)
    ).openapi()  # type: ignore[call-arg]
)


@pytest.fixture(scope="module")
def live(migrated_url: str) -> Iterator[str]:
    with (
        tempfile.TemporaryDirectory(prefix="maia-fuzz-") as tmp,
        serving(Path(tmp), DATABASE_URL=migrated_url, LOG_LEVEL="WARNING") as base,
    ):
        yield base


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors_and_responses_match_schema(
    live: str, case: schemathesis.Case, engine: AsyncEngine
) -> None:
    """`engine` is requested so the rows the fuzzer creates are cleaned up afterwards."""
    # Every check but positive_data_acceptance: business rules (an unknown cursor, an
    # empty metadata key) rightly refuse some inputs the JSON schema cannot express.
    case.call_and_validate(
        base_url=live, timeout=30, excluded_checks=[schemathesis.checks.positive_data_acceptance]
    )


# Values Python's JSON parser accepts and PostgreSQL rejects: every one must be a 400.
hostile_text = st.one_of(
    st.tuples(st.text(max_size=8), st.sampled_from(["\x00", "\ud800", "\udfff"])).map("".join),
    st.tuples(st.sampled_from(["\x00", "\udc80"]), st.text(max_size=8)).map("".join),
)
hostile_number = st.sampled_from([float("nan"), float("inf"), float("-inf")])

HostileBody = Callable[[Any], tuple[str, str, dict[str, Any]]]
TEXT_TARGETS: list[HostileBody] = [
    lambda v: ("POST", "/v1/vector_stores", {"name": v}),
    lambda v: ("POST", "/v1/vector_stores", {"metadata": {"k": v}}),
    lambda v: ("POST", "/v1/vector_stores", {"metadata": {v: "x"}}),
    lambda v: ("POST", "/v1/vector_stores/{store}/files", {"file_id": v}),
    lambda v: ("POST", "/v1/vector_stores/{store}/files/{file}", {"attributes": {"k": v}}),
    lambda v: ("POST", "/v1/vector_stores/{store}/file_batches", {"file_ids": [v]}),
    lambda v: ("POST", "/v1/vector_stores/{store}/search", {"query": v}),
    lambda v: (
        "POST",
        "/v1/vector_stores/{store}/search",
        {"query": "q", "filters": {"type": "eq", "key": v, "value": 1}},
    ),
    lambda v: (
        "POST",
        "/v1/vector_stores/{store}/search",
        {"query": "q", "filters": {"type": "in", "key": "k", "value": ["a", v]}},
    ),
]
NUMBER_TARGETS: list[HostileBody] = [
    lambda v: ("POST", "/v1/vector_stores/{store}/files/{file}", {"attributes": {"k": v}}),
    lambda v: (
        "POST",
        "/v1/vector_stores/{store}/search",
        {"query": "q", "filters": {"type": "lt", "key": "k", "value": v}},
    ),
]


@pytest.fixture(scope="module")
def hostile_world(live: str) -> tuple[str, str]:
    made = httpx.post(
        f"{live}/v1/files", files={"file": ("a.txt", b"text")}, data={"purpose": "assistants"}
    )
    store = httpx.post(f"{live}/v1/vector_stores", json={}).json()["id"]
    file_id = made.json()["id"]
    httpx.post(f"{live}/v1/vector_stores/{store}/files", json={"file_id": file_id})
    return store, file_id


def _send_hostile(live: str, world: tuple[str, str], target: HostileBody, value: Any) -> None:
    method, path, body = target(value)
    url = live + path.replace("{store}", world[0]).replace("{file}", world[1])
    content = json.dumps(body, allow_nan=True).encode()
    response = httpx.request(
        method, url, content=content, headers={"content-type": "application/json"}, timeout=30
    )
    assert response.status_code == 400, (body, response.text)
    assert response.json()["error"]["param"]


@given(target=st.sampled_from(TEXT_TARGETS), value=hostile_text)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_hostile_text_is_400(
    live: str, hostile_world: tuple[str, str], engine: AsyncEngine, target: HostileBody, value: str
) -> None:
    _send_hostile(live, hostile_world, target, value)


@given(target=st.sampled_from(NUMBER_TARGETS), value=hostile_number)
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_non_finite_numbers_are_400(
    live: str,
    hostile_world: tuple[str, str],
    engine: AsyncEngine,
    target: HostileBody,
    value: float,
) -> None:
    _send_hostile(live, hostile_world, target, value)
