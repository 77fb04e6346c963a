"""`maia-vectordb ingest`, run in-process against the test database as a new user would."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.cli.conftest import maia, table_rows

pytestmark = pytest.mark.e2e


async def attachments(engine: AsyncEngine) -> dict[str, list[dict[str, object]]]:
    """Attribute sets by `path`, straight from the table the API reads."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT attributes FROM vector_store_files"))).all()
    found: dict[str, list[dict[str, object]]] = {}
    for (attributes,) in rows:
        found.setdefault(attributes["path"], []).append(attributes)
    return found


async def files_kept(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM files")) or 0)


class TestFirstRun:
    async def test_reports_each_failure_with_its_reason(
        self, project: Path, env: dict[str, str], engine: AsyncEngine
    ) -> None:
        result = maia("ingest", "docs", "--store", "handbook", cwd=project, env=env)
        assert result.returncode == 1, result.stderr
        rows = {row.split("│")[1].strip(): row for row in table_rows(result.stdout)}
        assert "unsupported_file" in rows["logo.png"]
        assert "invalid_file: The file is empty" in rows["empty.txt"]
        for done in ("notes.txt", "guide.md", "policies/leave/sick.txt"):
            assert "completed" in rows[done]
        assert "completed 3 · skipped (unchanged) 0 · failed 2" in result.stdout
        assert "secret" not in result.stdout
        assert "Traceback" not in result.stderr

    async def test_records_path_and_content_hash(
        self, project: Path, env: dict[str, str], engine: AsyncEngine
    ) -> None:
        maia("ingest", "docs", "--store", "handbook", "--attr", "team=hr", cwd=project, env=env)
        stored = await attachments(engine)
        assert ".secret.txt" not in "".join(stored)
        notes = stored["notes.txt"][0]
        digest = hashlib.sha256((project / "docs" / "notes.txt").read_bytes()).hexdigest()
        assert notes == {"path": "notes.txt", "sha256": digest, "team": "hr"}

    async def test_all_good_files_exit_0(
        self, project: Path, env: dict[str, str], engine: AsyncEngine
    ) -> None:
        result = maia(
            "ingest", "docs/notes.txt", "docs/guide.md", "--store", "s", cwd=project, env=env
        )
        assert result.returncode == 0, result.stderr
        assert "completed 2 · skipped (unchanged) 0 · failed 0" in result.stdout

    async def test_a_file_the_server_refuses_fails_alone(
        self, project: Path, env: dict[str, str], engine: AsyncEngine
    ) -> None:
        (project / "docs" / "big.txt").write_text("too large " * 20)
        small = {**env, "MAX_UPLOAD_BYTES": "100"}
        result = maia(
            "ingest", "docs/big.txt", "docs/notes.txt", "--store", "s", cwd=project, env=small
        )
        assert result.returncode == 1
        rows = {row.split("│")[1].strip(): row for row in table_rows(result.stdout)}
        assert "larger than the 100 byte limit" in rows["big.txt"]
        assert "completed" in rows["notes.txt"]


class TestRerun:
    async def test_skips_unchanged_files_and_retries_failed_ones(
        self, project: Path, env: dict[str, str], engine: AsyncEngine
    ) -> None:
        maia("ingest", "docs", "--store", "handbook", cwd=project, env=env)
        again = maia("ingest", "docs", "--store", "handbook", cwd=project, env=env)
        assert again.returncode == 1
        assert "completed 0 · skipped (unchanged) 3 · failed 2" in again.stdout
        stored = await attachments(engine)
        assert "logo.png" not in stored, "a failed upload is removed, attachment and file"
        assert await files_kept(engine) == 3, "re-runs leave no orphaned File objects"

    async def test_replaces_a_changed_file(
        self, project: Path, env: dict[str, str], engine: AsyncEngine
    ) -> None:
        maia("ingest", "docs", "--store", "handbook", cwd=project, env=env)
        (project / "docs" / "guide.md").write_text("# Vacation\n\nNow thirty-five days.\n")
        again = maia("ingest", "docs", "--store", "handbook", cwd=project, env=env)
        assert "completed 1 · skipped (unchanged) 2 · failed 2 · replaced 1" in again.stdout
        guides = (await attachments(engine))["guide.md"]
        new = hashlib.sha256((project / "docs" / "guide.md").read_bytes()).hexdigest()
        assert [g["sha256"] for g in guides] == [new]
        assert await files_kept(engine) == 3, "the replaced upload is deleted too"

    async def test_a_run_from_another_folder_finds_the_same_files(
        self, project: Path, env: dict[str, str], engine: AsyncEngine
    ) -> None:
        maia("ingest", "docs", "--store", "h", cwd=project, env=env)
        again = maia("ingest", ".", "--store", "h", cwd=project / "docs", env=env)
        assert "completed 0 · skipped (unchanged) 3" in again.stdout
        assert all(len(copies) == 1 for copies in (await attachments(engine)).values())

    async def test_a_changed_attr_is_applied_to_unchanged_files(
        self, project: Path, env: dict[str, str], engine: AsyncEngine
    ) -> None:
        maia("ingest", "docs", "--store", "h", "--attr", "team=hr", cwd=project, env=env)
        again = maia("ingest", "docs", "--store", "h", "--attr", "team=ops", cwd=project, env=env)
        assert "skipped (unchanged) 3" in again.stdout
        notes = (await attachments(engine))["notes.txt"]
        assert [n["team"] for n in notes] == ["ops"]
        assert set(notes[0]) == {"path", "sha256", "team"}

    async def test_finds_the_store_by_id(
        self, project: Path, env: dict[str, str], engine: AsyncEngine
    ) -> None:
        first = maia("ingest", "docs/notes.txt", "--store", "byid", cwd=project, env=env)
        store_id = first.stdout.split("(")[1].split(")")[0]
        assert store_id.startswith("vs_")
        again = maia("ingest", "docs/notes.txt", "--store", store_id, cwd=project, env=env)
        assert again.returncode == 0
        assert f"byid ({store_id})" in again.stdout
        assert "skipped (unchanged) 1" in again.stdout


class TestOptions:
    async def test_typed_attributes_and_static_chunks(
        self, project: Path, env: dict[str, str], engine: AsyncEngine
    ) -> None:
        args = ["--attr", "year=2024", "--attr", "draft=false", "--attr", "zip=01234"]
        chunks = ["--chunk-size", "200", "--chunk-overlap", "50"]
        result = maia(
            "ingest", "docs/notes.txt", "--store", "s", *args, *chunks, cwd=project, env=env
        )
        assert result.returncode == 0, result.stderr
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT attributes, chunking_strategy FROM vector_store_files")
                )
            ).one()
        assert row.attributes["year"] == 2024
        assert row.attributes["draft"] is False
        assert row.attributes["zip"] == "01234"
        assert row.chunking_strategy["static"] == {
            "max_chunk_size_tokens": 200,
            "chunk_overlap_tokens": 50,
        }


class TestUsageErrors:
    def test_a_missing_path_exits_2_with_one_line(self, project: Path, env: dict[str, str]) -> None:
        result = maia("ingest", "docs", "missing-folder", "--store", "s", cwd=project, env=env)
        assert result.returncode == 2
        assert result.stderr == "error: no such file or folder: missing-folder\n"
