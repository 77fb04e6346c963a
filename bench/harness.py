"""What both benchmarks share: live processes (the server, a fake OpenAI), ports, tables.

Every process is started here as a child of the benchmark and stopped by the context
manager that started it, even when the benchmark fails or is interrupted.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import asyncpg
import httpx
from pgvector.asyncpg import register_vector

from maia_vectordb.config import Settings

BENCH_DIR = Path(__file__).resolve().parent
READY_WITHIN = 180.0
STOP_WITHIN = 60.0


ONSETS = "bdfgklmnprstvz"
VOWELS = "aeiou"
CODAS = ("", "", "", "n", "r", "s", "l")


def _syllable(rng: random.Random) -> str:
    return rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)


def pseudo_words(count: int, rng: random.Random) -> list[str]:
    """`count` distinct English-looking words of one to four syllables."""
    words: dict[str, None] = {}
    while len(words) < count:
        size = rng.choice((1, 2, 2, 2, 3, 3, 4))
        words["".join(_syllable(rng) for _ in range(size))] = None
    return list(words)


@contextmanager
def workspace(keep: Path | None) -> Iterator[Path]:
    """`keep` (created, reused) or a temporary directory removed afterwards."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="maia-bench-") as tmp:
        yield Path(tmp)


def log(message: str) -> None:
    """Progress goes to stderr so stdout holds only the report."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_connect_kwargs(url: str) -> dict[str, str]:
    """asyncpg arguments for the embedded server's `...?host=<socket dir>` URL."""
    host = parse_qs(urlparse(url).query)["host"][0]
    return {"host": host, "user": "postgres", "database": "postgres"}


async def pg_connect(connect: Mapping[str, str]) -> asyncpg.Connection:
    """A plain asyncpg connection that sends and reads `halfvec` values as float lists."""
    conn = await asyncpg.connect(**connect)
    await register_vector(conn)
    return conn


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_WITHIN)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def child_process(
    args: Sequence[str], *, env: Mapping[str, str], log_path: Path, cwd: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `args` with output to `log_path`; SIGTERM (then SIGKILL) on the way out."""
    with log_path.open("wb") as sink:
        proc = subprocess.Popen(args, env=dict(env), stdout=sink, stderr=subprocess.STDOUT, cwd=cwd)
        try:
            yield proc
        finally:
            _stop(proc)


def wait_until_ok(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}:\n{tail}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {READY_WITHIN:.0f} s")


@contextmanager
def fake_openai(
    workdir: Path,
    *,
    dims: int,
    queries: tuple[Path, Path] | None = None,
    vectors: str = "random",
) -> Iterator[str]:
    """Start `fake_openai.py` in its own process; yields its `.../v1` base URL.

    `queries` is (float32 vectors, texts one a line): those texts get those vectors;
    `vectors` (`random` or `latent`) is the kind every other text gets.
    """
    port = free_port()
    args = [sys.executable, str(BENCH_DIR / "fake_openai.py"), "--port", str(port)]
    args += ["--dims", str(dims), "--vectors", vectors]
    if queries is not None:
        args += ["--queries", str(queries[0]), "--texts", str(queries[1])]
    log_path = workdir / "fake-openai.log"
    with child_process(args, env=os.environ, log_path=log_path, cwd=workdir) as proc:
        wait_until_ok(f"http://127.0.0.1:{port}/health", proc, log_path)
        yield f"http://127.0.0.1:{port}/v1"


@dataclass(frozen=True)
class Server:
    base_url: str
    pid: int
    log_path: Path


def server_env(**settings: str) -> dict[str, str]:
    """The caller's environment without any variable the server reads, plus `settings`."""
    known = Settings.env_names()
    env = {k: v for k, v in os.environ.items() if k.upper() not in known}
    env.update(settings)
    return env


@contextmanager
def maia_server(
    workdir: Path,
    *options: str,
    launcher: Sequence[str] = ("-m", "maia_vectordb"),
    **settings: str,
) -> Iterator[Server]:
    """`python -m maia_vectordb serve [options]` on a free port, run from `workdir` (no `.env`).

    `launcher` replaces `-m maia_vectordb` (a wrapper script that profiles the server)."""
    port = free_port()
    args = [sys.executable, *launcher, "serve", "--port", str(port), *options]
    log_path = workdir / f"server-{port}.log"
    env = server_env(**settings)
    with child_process(args, env=env, log_path=log_path, cwd=workdir) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_until_ok(f"{base}/health/ready", proc, log_path)
        yield Server(base, proc.pid, log_path)


def compared_servers(
    stack: ExitStack,
    workdir: Path,
    compare: Sequence[tuple[str, Path]],
    profile: Path | None,
    callgrind: Path | None = None,
    **settings: str,
) -> dict[str, Server]:
    """A server per `(name, src)` in `compare` (that checkout's `src` on PYTHONPATH), then
    this checkout's as `new`, all with `settings`; `new` runs under
    `bench/profiled_serve.py` writing `<profile>.<n>.prof` when `profile` is given, and
    every server under `bench/callgrind_serve.py` writing `<callgrind>/<name>.*` when
    `callgrind` is."""
    sources: list[tuple[str, Path | None]] = [*compare, ("new", None)]
    servers = {}
    for name, src in sources:
        env = dict(settings) if src is None else {**settings, "PYTHONPATH": str(src)}
        launcher: tuple[str, ...] = ("-m", "maia_vectordb")
        if callgrind is not None:
            callgrind.mkdir(parents=True, exist_ok=True)
            env["MAIA_BENCH_CALLGRIND"] = str(callgrind / name)
            launcher = (str(BENCH_DIR / "callgrind_serve.py"),)
        elif profile is not None and src is None:
            profile.parent.mkdir(parents=True, exist_ok=True)
            env["MAIA_BENCH_PROFILE"] = str(profile)
            launcher = (str(BENCH_DIR / "profiled_serve.py"),)
        servers[name] = stack.enter_context(maia_server(workdir, launcher=launcher, **env))
    return servers


@contextmanager
def maia_workers(workdir: Path, count: int, *options: str, **settings: str) -> Iterator[list[int]]:
    """`count` processes of `python -m maia_vectordb worker [options]`, next to a running
    `serve` with the same settings (they join its embedded PostgreSQL); yields their pids
    once each logged that its workers run."""
    with ExitStack() as stack:
        pids = [
            stack.enter_context(_worker(workdir, number, options, settings))
            for number in range(count)
        ]
        yield pids


@contextmanager
def _worker(
    workdir: Path, number: int, options: Sequence[str], settings: Mapping[str, str]
) -> Iterator[int]:
    args = [sys.executable, "-m", "maia_vectordb", "worker", *options]
    log_path = workdir / f"worker-{number}.log"
    with child_process(args, env=server_env(**settings), log_path=log_path, cwd=workdir) as proc:
        deadline = time.monotonic() + READY_WITHIN
        while "ingestion workers running" not in log_path.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"worker {number} did not start:\n{tail}")
            time.sleep(0.2)
        yield proc.pid


def percentiles(samples: Sequence[float]) -> tuple[float, float, float]:
    """p50, p95, p99 (inclusive method, so tiny samples stay within their range)."""
    if len(samples) < 2:
        value = samples[0] if samples else float("nan")
        return value, value, value
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in cells
    ]
    return "\n".join(lines)


def revision() -> str:
    """The commit measured, marked `-dirty` when the working tree had local changes."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=BENCH_DIR,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip()


def load_average() -> str:
    """The 1/5/15-minute load average, as every figure is printed with."""
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def machine() -> str:
    """Cores, memory, and the load average at the end: other work on the host skews figures."""
    cores = os.cpu_count() or 0
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    load = load_average()
    return (
        f"{cores} cores, {pages / 2**30:.0f} GiB RAM, Python {sys.version.split()[0]}, "
        f"load average {load} (1/5/15 min) at the end"
    )
