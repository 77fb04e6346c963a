"""Start-up figures: `--help`, `keys list`, and `serve` from launch to ready, cold and warm.

Cold is a fresh data directory (initdb, first migration); warm re-uses it. Each figure is
one run: wall-clock, which follows whatever else the machine is doing (quote the load
average with it), and the CPU seconds our processes used to get there (user + system, the
embedded PostgreSQL's own excluded), which load barely changes: on a quiet machine the
wall figure approaches the CPU one plus PostgreSQL's start. Python bytecode is cached as
in a normal install (PYTHONDONTWRITEBYTECODE is dropped for the children).

    uv run --frozen python bench/startup.py
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from harness import child_process, free_port, wait_until_ok

CLI = [sys.executable, "-m", "maia_vectordb"]


def _env(data_dir: Path) -> dict[str, str]:
    dropped = {"DATABASE_URL", "OPENAI_API_KEY", "PYTHONDONTWRITEBYTECODE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(MAIA_DATA_DIR=str(data_dir), EMBEDDING_PROVIDER="hash", LOG_LEVEL="WARNING")
    return env


Figure = tuple[float, float]
"""(wall seconds, CPU seconds)."""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed_command(args: list[str], env: dict[str, str]) -> Figure:
    started, cpu = time.perf_counter(), _children_cpu()
    subprocess.run([*CLI, *args], env=env, capture_output=True, check=True)
    return time.perf_counter() - started, _children_cpu() - cpu


def _tree_cpu(pid: int) -> float:
    """CPU of a running process and its children that share its user (not PostgreSQL's)."""
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        if proc.username() == root.username() and "postgres" not in proc.name():
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def _serve_ready(data_dir: Path, workdir: Path, *extra: str) -> Figure:
    port = free_port()
    started = time.perf_counter()
    args = [*CLI, "serve", "--port", str(port), *extra]
    log_path = workdir / f"serve-{port}.log"
    with child_process(args, env=_env(data_dir), log_path=log_path, cwd=workdir) as proc:
        wait_until_ok(f"http://127.0.0.1:{port}/health/ready", proc, log_path)
        return time.perf_counter() - started, _tree_cpu(proc.pid)


def _show(label: str, figure: Figure) -> None:
    print(f"{label:<26}{figure[0]:6.2f} s wall {figure[1]:6.2f} s CPU")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="maia-startup-") as tmp:
        workdir = Path(tmp)
        data_dir = workdir / "data"
        env = _env(data_dir)
        print(f"load average: {os.getloadavg()}")
        _timed_command(["--help"], env)  # warm the page cache and bytecode
        _show("--help (warm):", _timed_command(["--help"], env))
        _show("serve ready, cold:", _serve_ready(data_dir, workdir))
        _show("serve ready, warm:", _serve_ready(data_dir, workdir))
        _show("serve --workers 2, warm:", _serve_ready(data_dir, workdir, "--workers", "2"))
        _show("keys list (warm):", _timed_command(["keys", "list"], env))
        bad = dict(env, DATABASE_URL=f"postgresql://u:p@127.0.0.1:{free_port()}/db")
        started = time.perf_counter()
        subprocess.run([*CLI, "migrate"], env=bad, capture_output=True, check=False)
        print(f"unreachable database, fails in: {time.perf_counter() - started:.2f} s")
        print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
