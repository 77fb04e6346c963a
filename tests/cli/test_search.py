"""`maia-vectordb search`: a readable table of the best chunks, best first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.cli.conftest import maia, table_rows

pytestmark = pytest.mark.e2e


@pytest.fixture
def handbook(project: Path, env: dict[str, str], engine: AsyncEngine) -> Path:
    """The project's docs ingested into the store `handbook`, tagged `team=hr`."""
    ingested = maia(
        "ingest", "docs", "--store", "handbook", "--attr", "team=hr", cwd=project, env=env
    )
    assert ingested.returncode == 1, ingested.stderr
    return project


class TestSearch:
    def test_prints_the_matching_file_first(self, handbook: Path, env: dict[str, str]) -> None:
        result = maia("search", "handbook", "paid parental leave", "-k", "3", cwd=handbook, env=env)
        assert result.returncode == 0, result.stderr
        rows = table_rows(result.stdout)
        assert len(rows) == 3
        rank, score, filename, snippet = (cell.strip() for cell in rows[0].split("│")[1:5])
        assert (rank, filename) == ("1", "notes.txt")
        assert len(score.split(".")[1]) == 3
        assert snippet.startswith("Parental leave: employees get sixteen weeks")

    def test_every_mode(self, handbook: Path, env: dict[str, str]) -> None:
        for mode in ("vector", "keyword", "hybrid"):
            result = maia(
                "search", "handbook", "vacation days", "--mode", mode, cwd=handbook, env=env
            )
            assert result.returncode == 0, result.stderr
            assert "guide.md" in table_rows(result.stdout)[0], mode

    def test_filter_on_attributes(self, handbook: Path, env: dict[str, str]) -> None:
        def search(team: str) -> list[str]:
            where = json.dumps({"type": "eq", "key": "team", "value": team})
            result = maia("search", "handbook", "leave", "--filter", where, cwd=handbook, env=env)
            assert result.returncode == 0, result.stderr
            return table_rows(result.stdout)

        assert search("hr")
        assert search("ops") == []

    def test_snippets_collapse_whitespace_and_stop_near_120_chars(
        self, project: Path, env: dict[str, str], engine: AsyncEngine
    ) -> None:
        (project / "long.txt").write_text("budget\n\n   line   " + "word " * 100)
        maia("ingest", "long.txt", "--store", "long", cwd=project, env=env)
        result = maia("search", "long", "budget", cwd=project, env=env)
        snippet = table_rows(result.stdout)[0].split("│")[4].strip()
        assert snippet.startswith("budget line word word")
        assert snippet.endswith("…")
        assert len(snippet) == 120


class TestErrors:
    def test_unknown_store_exits_2(self, project: Path, env: dict[str, str]) -> None:
        result = maia("search", "no-such-store", "anything", cwd=project, env=env)
        assert result.returncode == 2
        assert (
            result.stderr.strip()
            == "error: no vector store is named 'no-such-store' or has that id"
        )

    def test_filter_the_server_rejects_exits_2(self, handbook: Path, env: dict[str, str]) -> None:
        bad = json.dumps({"type": "between", "key": "team", "value": "x"})
        result = maia("search", "handbook", "q", "--filter", bad, cwd=handbook, env=env)
        assert result.returncode == 2
        assert "filters" in result.stderr
        assert "Traceback" not in result.stderr
