"""`ingest` and `search` against a live `maia-vectordb serve`, over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.cli.conftest import maia, table_rows
from tests.e2e.conftest import free_port, serving

pytestmark = pytest.mark.e2e

API_KEY = "sk-cli-remote-test"


class TestRemote:
    def test_ingest_then_search(
        self,
        project: Path,
        env: dict[str, str],
        data_root: Path,
        migrated_url: str,
        engine: AsyncEngine,
    ) -> None:
        with serving(data_root / "data", DATABASE_URL=migrated_url) as base:
            remote = ["--base-url", f"{base}/v1"]
            ingested = maia("ingest", "docs", "--store", "handbook", *remote, cwd=project, env=env)
            assert ingested.returncode == 1, ingested.stderr
            assert "completed 3 · skipped (unchanged) 0 · failed 2" in ingested.stdout
            assert "unsupported_file" in ingested.stdout
            found = maia("search", "handbook", "parental leave", *remote, cwd=project, env=env)
        assert found.returncode == 0, found.stderr
        assert "notes.txt" in table_rows(found.stdout)[0]

    def test_api_key_from_flag_or_environment(
        self,
        project: Path,
        env: dict[str, str],
        data_root: Path,
        migrated_url: str,
        engine: AsyncEngine,
    ) -> None:
        with serving(data_root / "data", DATABASE_URL=migrated_url, MAIA_API_KEYS=API_KEY) as base:
            args = ["ingest", "docs/notes.txt", "--store", "s", "--base-url", f"{base}/v1"]
            wrong = maia(*args, "--api-key", "sk-wrong", cwd=project, env=env)
            right = maia(*args, cwd=project, env={**env, "MAIA_API_KEY": API_KEY})
        assert wrong.returncode == 1
        assert "rejected the API key" in wrong.stderr
        assert "Traceback" not in wrong.stderr
        assert right.returncode == 0, right.stderr

    def test_unreachable_server_is_one_line(self, project: Path, env: dict[str, str]) -> None:
        url = f"http://127.0.0.1:{free_port()}/v1"
        result = maia("search", "s", "q", "--base-url", url, cwd=project, env=env)
        assert result.returncode == 1
        assert result.stderr.strip().startswith(f"error: cannot reach {url}")
        assert len(result.stderr.strip().splitlines()) == 1
