"""CPU seconds of a process tree, from /proc: what a run cost, whatever else the host ran.

On a loaded machine latency stretches with the load average, but the CPU each search
costs the server and PostgreSQL does not, so the reports state both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, own CPU seconds, reaped children's CPU seconds), None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return int(fields[1]), (utime + stime) / TICKS, (cutime + cstime) / TICKS


def process_cpu_seconds(pid: int) -> float:
    """One live process's own CPU seconds (a PostgreSQL backend, say)."""
    stat = _stat(pid)
    if stat is None:
        raise ProcessLookupError(pid)
    return stat[1]


def tree_cpu_seconds(root: int) -> float:
    """The root, every live descendant, and the children it has already reaped."""
    stats = {int(p): s for p in os.listdir("/proc") if p.isdigit() and (s := _stat(int(p)))}
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    total, pending = stats[root][2] if root in stats else 0.0, [root]
    while pending:
        pid = pending.pop()
        if pid in stats:
            total += stats[pid][1]
            pending += children.get(pid, [])
    return total


@dataclass(frozen=True)
class CpuMeter:
    """The API server's and PostgreSQL's process trees."""

    server: int
    postgres: int

    @classmethod
    def of(cls, server_pid: int, pgdata: Path) -> CpuMeter:
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
        return cls(server_pid, postmaster)

    def read(self) -> tuple[float, float]:
        return tree_cpu_seconds(self.server), tree_cpu_seconds(self.postgres)
