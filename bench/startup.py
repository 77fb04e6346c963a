"""Start-up figures: `--help`, `keys list`, and `serve` from launch to ready, cold and warm.

Cold is a fresh data directory (initdb, first migration); warm re-uses it. Each figure is
one run, wall-clock, on whatever else the machine is doing: quote the load average with it.

    uv run --frozen python bench/startup.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import child_process, free_port, wait_until_ok

CLI = [sys.executable, "-m", "maia_vectordb"]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "OPENAI_API_KEY"}}
    env.update(MAIA_DATA_DIR=str(data_dir), EMBEDDING_PROVIDER="hash", LOG_LEVEL="WARNING")
    return env


def _timed_command(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([*CLI, *args], env=env, capture_output=True, check=True)
    return time.perf_counter() - started


def _serve_ready(data_dir: Path, workdir: Path, *extra: str) -> float:
    port = free_port()
    started = time.perf_counter()
    args = [*CLI, "serve", "--port", str(port), *extra]
    log_path = workdir / f"serve-{port}.log"
    with child_process(args, env=_env(data_dir), log_path=log_path, cwd=workdir) as proc:
        wait_until_ok(f"http://127.0.0.1:{port}/health/ready", proc, log_path)
        return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="maia-startup-") as tmp:
        workdir = Path(tmp)
        data_dir = workdir / "data"
        env = _env(data_dir)
        print(f"load average: {os.getloadavg()}")
        _timed_command(["--help"], env)  # warm the page cache and bytecode
        print(f"--help (warm):            {_timed_command(['--help'], env):.2f} s")
        print(f"serve ready, cold:        {_serve_ready(data_dir, workdir):.2f} s")
        print(f"serve ready, warm:        {_serve_ready(data_dir, workdir):.2f} s")
        warm_workers = _serve_ready(data_dir, workdir, "--workers", "2")
        print(f"serve --workers 2, warm:  {warm_workers:.2f} s")
        print(f"keys list (warm):         {_timed_command(['keys', 'list'], env):.2f} s")
        bad = dict(env, DATABASE_URL=f"postgresql://u:p@127.0.0.1:{free_port()}/db")
        started = time.perf_counter()
        subprocess.run([*CLI, "migrate"], env=bad, capture_output=True, check=False)
        print(f"unreachable database, fails in: {time.perf_counter() - started:.2f} s")
        print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
