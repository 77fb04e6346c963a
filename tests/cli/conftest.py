"""A small project folder, and the `maia-vectordb` command run from inside it."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import cli_env

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """`docs/` as a user might have it: text, Markdown, a nested folder, an image, an empty
    file, a hidden file and a `.git` folder."""
    docs = tmp_path / "docs"
    (docs / "policies" / "leave").mkdir(parents=True)
    (docs / ".git").mkdir()
    (docs / "notes.txt").write_text("Parental leave: employees get sixteen weeks of paid leave.\n")
    (docs / "guide.md").write_text("# Vacation\n\nEveryone gets thirty vacation days a year.\n")
    (docs / "policies" / "leave" / "sick.txt").write_text("Sick days need a doctor's note.\n")
    (docs / "logo.png").write_bytes(PNG)
    (docs / "empty.txt").write_bytes(b"")
    (docs / ".secret.txt").write_text("a hidden file that must never be uploaded")
    (docs / ".git" / "config").write_text("[core]\n")
    return tmp_path


@pytest.fixture
def data_root() -> Iterator[Path]:
    """Outside pytest's 0700 tmp tree, as tests/e2e does, for a server's data directory."""
    with tempfile.TemporaryDirectory(prefix="maia-cli-") as tmp:
        yield Path(tmp)


@pytest.fixture
def env(migrated_url: str, tmp_path: Path) -> dict[str, str]:
    """The test database, fast worker polling, and a wide terminal so rows stay on one line."""
    return cli_env(
        DATABASE_URL=migrated_url,
        MAIA_DATA_DIR=str(tmp_path / "data"),
        INGEST_POLL_INTERVAL="0.05",
        COLUMNS="200",
        MAIA_API_KEY="",
    )


def maia(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "maia_vectordb", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def table_rows(output: str) -> list[str]:
    """The body rows of a rich table: lines framed by `│`."""
    return [line for line in output.splitlines() if line.startswith("│")]
