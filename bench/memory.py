"""Peak memory and CPU seconds of the server process tree and of PostgreSQL, sampled
from a thread.

CPU is what each process used while the block ran (the last sample of each process,
less what it had used at the first); it tells where ingest time goes (PostgreSQL's
share is mostly HNSW inserts) regardless of the machine's load.

PostgreSQL's processes share `shared_buffers`, so summing their RSS would count it once
per backend; their proportional set size (PSS) adds up to what they really use. Reading
PSS makes the kernel walk every page a process maps (2 GB of shared buffers per
backend), so memory is read only every `MEMORY_EVERY`-th sample: read every 0.2 s it
cost the ingest benchmark 12 s of kernel CPU in a 74 s run, taken from the server
it measures (docs/benchmarks.md). CPU times (`/proc/PID/stat`) stay at every sample, so
short-lived processes (an index build's parallel workers) are still counted.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil
from pg_activity import process_kind

INTERVAL = 0.2
MEMORY_EVERY = 10
MB = 2**20


@dataclass
class Peaks:
    server_rss_mb: float = 0.0
    postgres_pss_mb: float = 0.0
    total_mb: float = 0.0
    server_cpu: dict[int, float] = field(default_factory=dict)
    postgres_cpu: dict[int, float] = field(default_factory=dict)
    start_cpu: dict[int, float] = field(default_factory=dict)
    postgres_kinds: dict[int, str] = field(default_factory=dict)

    def cpu_seconds(self) -> tuple[float, float]:
        """(server, PostgreSQL) CPU seconds used since sampling began."""

        def used(seen: dict[int, float]) -> float:
            return sum(cpu - self.start_cpu.get(pid, 0.0) for pid, cpu in list(seen.items()))

        return used(self.server_cpu), used(self.postgres_cpu)

    def postgres_cpu_by_kind(self) -> dict[str, float]:
        """PostgreSQL's CPU seconds since sampling began, by process kind (pg_activity)."""
        kinds: dict[str, float] = {}
        for pid, cpu in list(self.postgres_cpu.items()):
            kind = self.postgres_kinds.get(pid, "backend")
            kinds[kind] = kinds.get(kind, 0.0) + cpu - self.start_cpu.get(pid, 0.0)
        return kinds


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _sum(processes: list[psutil.Process], measure: Callable[[psutil.Process], int]) -> float:
    total = 0
    for process in processes:
        try:
            total += measure(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total / MB


def _sample(
    server_pids: Sequence[int],
    postmaster_pid: Callable[[], int | None],
    peaks: Peaks,
    *,
    first: bool,
    memory: bool,
) -> None:
    postgres_root = postmaster_pid()
    postgres = _tree(postgres_root) if postgres_root else []
    postgres_pids = {p.pid for p in postgres}
    server = [p for pid in server_pids for p in _tree(pid) if p.pid not in postgres_pids]
    if memory:
        server_mb = _sum(server, lambda p: p.memory_info().rss)
        postgres_mb = _sum(postgres, lambda p: p.memory_full_info().pss)
        peaks.server_rss_mb = max(peaks.server_rss_mb, server_mb)
        peaks.postgres_pss_mb = max(peaks.postgres_pss_mb, postgres_mb)
        peaks.total_mb = max(peaks.total_mb, server_mb + postgres_mb)
    _kinds(postgres, peaks.postgres_kinds)
    for processes, seen in ((server, peaks.server_cpu), (postgres, peaks.postgres_cpu)):
        _cpu(processes, seen)
        if first:
            peaks.start_cpu.update(seen)


def _cpu(processes: list[psutil.Process], seen: dict[int, float]) -> None:
    for process in processes:
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        seen[process.pid] = times.user + times.system


def _kinds(processes: list[psutil.Process], kinds: dict[int, str]) -> None:
    for process in processes:
        if process.pid not in kinds:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                kinds[process.pid] = process_kind(process.cmdline())


@contextmanager
def peak_memory(
    server_pids: Sequence[int], postmaster_pid: Callable[[], int | None]
) -> Iterator[Peaks]:
    """Sample CPU every 0.2 s and memory every 2 s until the block ends (and once more at
    its end); the yielded `Peaks` fill in as it runs.
    `server_pids`: the API server and any `worker` processes, counted together."""
    peaks = Peaks()
    stop = threading.Event()

    def loop() -> None:
        _sample(server_pids, postmaster_pid, peaks, first=True, memory=True)
        samples = 0
        while not stop.wait(INTERVAL):
            samples += 1
            memory = samples % MEMORY_EVERY == 0
            _sample(server_pids, postmaster_pid, peaks, first=False, memory=memory)
        _sample(server_pids, postmaster_pid, peaks, first=False, memory=True)

    thread = threading.Thread(target=loop, name="peak-memory", daemon=True)
    thread.start()
    try:
        yield peaks
    finally:
        stop.set()
        thread.join()
