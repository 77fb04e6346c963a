"""Run the real `maia-vectordb` command as a user would, on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

READY_WITHIN = 60.0


@pytest.fixture
def data_root() -> Iterator[Path]:
    """Outside pytest's tmp tree: pytest resets that tree to 0700, which locks out the
    separate system user the embedded server runs as under root."""
    with tempfile.TemporaryDirectory(prefix="maia-e2e-") as tmp:
        yield Path(tmp)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "OPENAI_API_KEY"}}
    env.update({"EMBEDDING_PROVIDER": "hash", "LOG_LEVEL": "INFO"}, **overrides)
    return env


def run_cli(*args: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "maia_vectordb", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def serving(data_dir: Path, *args: str, **env: str) -> Iterator[str]:
    """Start `serve`, wait for readiness, yield its base URL, stop it with SIGTERM."""
    port = free_port()
    log = (data_dir.parent / f"serve-{port}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "maia_vectordb", "serve", "--port", str(port), *args],
        env=cli_env(MAIA_DATA_DIR=str(data_dir), **env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early with {proc.returncode}")
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base} not ready within {READY_WITHIN}s")
