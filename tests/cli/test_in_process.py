"""`ingest`, `search`, `stores` and `keys` run in this process against the test database:
`--json`, `--dry-run`, `--exclude`, failures last, and quiet `keys`."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from maia_vectordb.cli import _parser, ingest, keys, search, stores
from maia_vectordb.config import Settings
from tests.cli.conftest import table_rows

Capture = pytest.CaptureFixture[str]


def _args(*argv: str) -> argparse.Namespace:
    return _parser(argv).parse_args(argv)


async def _ingest(settings: Settings, *argv: str) -> int:
    return await ingest.run(settings, _args("ingest", *argv))


async def _json(capsys: Capture) -> object:
    return json.loads(capsys.readouterr().out)


async def _count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich sizes tables to the terminal; wide, each row stays on one line."""
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def docs(project: Path) -> str:
    return str(project / "docs")


class TestIngestOutput:
    async def test_json_lists_every_file_with_failures_last(
        self, settings: Settings, engine: AsyncEngine, docs: str, capsys: Capture
    ) -> None:
        assert await _ingest(settings, docs, "--store", "h", "--json") == 1
        report = await _json(capsys)
        assert isinstance(report, dict)
        assert (report["completed"], report["failed"], report["skipped"]) == (3, 2, 0)
        assert report["store"]["name"] == "h"
        assert report["store"]["id"].startswith("vs_")
        statuses = [f["status"] for f in report["files"]]
        assert statuses == ["completed"] * 3 + ["failed"] * 2
        logo = next(f for f in report["files"] if f["path"] == "logo.png")
        assert logo["error"]["code"] == "unsupported_file"

    async def test_table_puts_failures_last_and_says_so(
        self, settings: Settings, engine: AsyncEngine, docs: str, capsys: Capture
    ) -> None:
        await _ingest(settings, docs, "--store", "h")
        out = capsys.readouterr().out
        rows = [row.split("│")[1].strip() for row in table_rows(out)]
        assert rows[-2:] == ["empty.txt", "logo.png"]
        assert out.rstrip().splitlines()[-1] == "2 file(s) failed: see the red rows above"

    async def test_exclude_by_name_and_by_folder(
        self, settings: Settings, engine: AsyncEngine, docs: str, capsys: Capture
    ) -> None:
        argv = ["--exclude", "*.png", "--exclude", "empty.*", "--exclude", "policies"]
        assert await _ingest(settings, docs, "--store", "h", "--json", *argv) == 0
        report = await _json(capsys)
        assert isinstance(report, dict)
        assert sorted(f["path"] for f in report["files"]) == ["guide.md", "notes.txt"]
        assert report["excluded"] == 3


class TestDryRun:
    async def test_a_new_store_is_neither_created_nor_filled(
        self, settings: Settings, engine: AsyncEngine, docs: str, capsys: Capture
    ) -> None:
        assert await _ingest(settings, docs, "--store", "new", "--dry-run", "--json") == 0
        preview = await _json(capsys)
        assert isinstance(preview, dict)
        assert preview["store"] == {"id": None, "name": "new", "created": True}
        assert sorted(a["path"] for a in preview["actions"] if a["action"] == "upload") == [
            "empty.txt",
            "guide.md",
            "logo.png",
            "notes.txt",
            "policies/leave/sick.txt",
        ]
        assert await _count(engine, "vector_stores") == 0
        assert await _count(engine, "files") == 0

    async def test_shows_replacements_and_deletions_without_making_them(
        self,
        settings: Settings,
        engine: AsyncEngine,
        project: Path,
        docs: str,
        capsys: Capture,
    ) -> None:
        await _ingest(settings, docs, "--store", "h")
        (project / "docs" / "guide.md").write_text("# Vacation\n\nNow thirty-five days.\n")
        capsys.readouterr()
        before = await _count(engine, "files")
        await _ingest(settings, docs, "--store", "h", "--dry-run", "--attr", "team=ops")
        out = capsys.readouterr().out
        actions = {(r.split("│")[1].strip(), r.split("│")[2].strip()) for r in table_rows(out)}
        assert ("replace", "guide.md") in actions
        assert ("delete", "guide.md") in actions
        assert ("retag", "notes.txt") in actions
        assert ("upload", "logo.png") in actions, "a failed file is retried"
        assert "would upload 2 · replace 1 · delete 1 · re-tag 2" in out
        assert "nothing was changed" in out
        assert await _count(engine, "files") == before
        async with engine.connect() as conn:
            tags = await conn.scalars(text("SELECT attributes->>'team' FROM vector_store_files"))
            assert set(tags) == {None}


class TestSearchJson:
    async def test_hits_as_the_api_returns_them(
        self, settings: Settings, engine: AsyncEngine, docs: str, capsys: Capture
    ) -> None:
        await _ingest(settings, docs, "--store", "h", "--attr", "team=hr")
        capsys.readouterr()
        args = _args("search", "h", "paid parental leave", "-k", "2", "--json")
        assert await search.run(settings, args) == 0
        found = await _json(capsys)
        assert isinstance(found, dict)
        assert found["query"] == "paid parental leave"
        assert len(found["data"]) == 2
        first = found["data"][0]
        assert first["filename"] == "notes.txt"
        assert first["attributes"]["team"] == "hr"
        assert first["content"][0]["text"].startswith("Parental leave")


class TestStores:
    async def test_list_then_delete_by_name_with_its_files(
        self, settings: Settings, engine: AsyncEngine, docs: str, capsys: Capture
    ) -> None:
        await _ingest(settings, docs, "--store", "h")
        capsys.readouterr()
        assert await stores.run(settings, _args("stores", "list", "--json")) == 0
        listed = await _json(capsys)
        assert isinstance(listed, list)
        assert [(s["name"], s["file_counts"]["completed"]) for s in listed] == [("h", 3)]
        delete = _args("stores", "delete", "h", "--with-files", "--json")
        assert await stores.run(settings, delete) == 0
        deleted = await _json(capsys)
        assert isinstance(deleted, dict)
        assert deleted["id"] == listed[0]["id"]
        assert len(deleted["files_deleted"]) == 3
        assert await _count(engine, "vector_stores") == 0
        assert await _count(engine, "files") == 0

    async def test_list_table_and_unknown_store(
        self, settings: Settings, engine: AsyncEngine, capsys: Capture
    ) -> None:
        assert await stores.run(settings, _args("stores", "list")) == 0
        assert "0 vector store(s)" in capsys.readouterr().out
        assert await stores.run(settings, _args("stores", "delete", "nope")) == 2
        err = capsys.readouterr().err
        assert err == "error: no vector store is named 'nope' or has that id\n"


class TestKeys:
    async def test_list_json_and_no_info_lines(
        self,
        settings: Settings,
        engine: AsyncEngine,
        capsys: Capture,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.INFO)
        await keys.run(settings, _args("keys", "create", "--project", "default"))
        capsys.readouterr()
        await keys.run(settings, _args("keys", "list", "--json"))
        listed = await _json(capsys)
        assert isinstance(listed, list)
        assert [(k["project"], k["status"]) for k in listed] == [("default", "active")]
        assert listed[0]["last_used_at"] is None
        assert not [r for r in caplog.records if r.levelno < logging.WARNING]
