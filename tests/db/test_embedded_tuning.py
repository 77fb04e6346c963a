"""The embedded server runs with `desired_settings`: memory sized to the machine, and
checkpoints far enough apart that bulk ingest does not write its pages twice."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.db.embedded_tuning import desired_settings

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")), reason="tunes only the embedded server"
)


class TestEmbeddedSettings:
    def test_checkpoints_are_spaced_for_bulk_ingest(self) -> None:
        wanted = desired_settings()
        assert (wanted["max_wal_size"], wanted["checkpoint_timeout"]) == ("4GB", "30min")

    async def test_the_running_server_has_every_desired_setting(self, engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            for name, value in desired_settings().items():
                if value.endswith(("kB", "MB", "GB", "TB")):
                    sql = "SELECT pg_size_bytes(current_setting(:name)) = pg_size_bytes(:value)"
                else:
                    sql = "SELECT current_setting(:name) = :value"
                same = await conn.scalar(text(sql), {"name": name, "value": value})
                assert same, name
