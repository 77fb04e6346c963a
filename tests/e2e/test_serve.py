"""`maia-vectordb serve` from a user's point of view: one command, no setup, data kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import cli_env, free_port, run_cli, serving

pytestmark = pytest.mark.e2e


class TestServeEmbedded:
    def test_serves_ready_and_keeps_data_across_restarts(self, data_root: Path) -> None:
        data_dir = data_root / "data"
        with serving(data_dir) as base:
            created = httpx.post(f"{base}/v1/vector_stores", json={"name": "kept"}, timeout=10)
            assert created.status_code == 200, created.text
            store_id = created.json()["id"]
        assert (data_dir / "pgdata" / "PG_VERSION").exists()
        assert not (data_dir / "pgdata" / "postmaster.pid").exists(), "server left running"
        with serving(data_dir) as base:
            again = httpx.get(f"{base}/v1/vector_stores/{store_id}", timeout=10)
            assert again.status_code == 200
            assert again.json()["name"] == "kept"


class TestStartupFaults:
    def test_unreachable_database_fails_fast_with_one_line(self, data_root: Path) -> None:
        url = f"postgresql://user:hunter2@127.0.0.1:{free_port()}/db"
        result = run_cli(
            "serve",
            "--port",
            str(free_port()),
            env=cli_env(DATABASE_URL=url, MAIA_DATA_DIR=str(data_root)),
            timeout=120,  # a guard against hanging, not a timing assertion
        )
        assert result.returncode != 0
        assert "cannot connect to PostgreSQL" in result.stderr
        assert "Traceback" not in result.stderr
        assert "hunter2" not in result.stderr

    def test_unusable_data_dir_is_named(self, data_root: Path) -> None:
        not_a_dir = data_root / "file"
        not_a_dir.write_text("x")
        result = run_cli("migrate", env=cli_env(MAIA_DATA_DIR=str(not_a_dir)), timeout=120)
        assert result.returncode != 0
        assert str(not_a_dir) in result.stderr
        assert "Traceback" not in result.stderr

    def test_foreign_directory_is_not_taken_as_pgdata(self, data_root: Path) -> None:
        (data_root / "pgdata").mkdir()
        (data_root / "pgdata" / "notes.txt").write_text("mine")
        result = run_cli("migrate", env=cli_env(MAIA_DATA_DIR=str(data_root)), timeout=120)
        assert result.returncode != 0
        assert "not a PostgreSQL data directory" in result.stderr

    def test_bad_setting_is_explained(self, data_root: Path) -> None:
        env = cli_env(MAIA_DATA_DIR=str(data_root), EMBEDDING_DIMENSIONS="lots")
        result = run_cli("migrate", env=env, timeout=120)
        assert result.returncode != 0
        assert "EMBEDDING_DIMENSIONS" in result.stderr
        assert "Traceback" not in result.stderr


class TestConcurrentStart:
    def test_three_migrates_on_a_fresh_directory_all_succeed(self, data_root: Path) -> None:
        """Each saw the server stopped before starting it; only a process alone on it may
        restart it to tune, or the others lose their connection mid-start (issue 12)."""
        env = cli_env(MAIA_DATA_DIR=str(data_root / "data"))
        args = [sys.executable, "-m", "maia_vectordb", "migrate"]
        procs = [subprocess.Popen(args, env=env, stderr=subprocess.PIPE, text=True) for _ in "abc"]
        errors = [proc.communicate(timeout=300)[1][-2000:] for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0, 0], errors


class TestVersion:
    def test_prints_version(self) -> None:
        result = run_cli("--version", env=cli_env(), timeout=120)
        assert result.returncode == 0
        assert result.stdout.startswith("maia-vectordb ")
