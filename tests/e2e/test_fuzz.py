"""Schemathesis against a live server, driven by the service's own OpenAPI document:
no input the schema allows (or nearly allows) may produce a 5xx or an undocumented shape."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
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
