"""Whether the in-process ingestion tasks are alive and making progress, for readiness.

Each supervised task registers a `TaskLiveness` and beats it whenever it makes
progress: a worker at every turn of its loop and at every renewed lease, the
housekeeping at every round. A task that ended (dead) or has not beaten within
its `stuck_after` (stuck) makes `/health/ready` answer 503 with the reason.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class TaskLiveness:
    name: str
    stuck_after: float
    last_progress: float = field(default_factory=time.monotonic)
    restarts: int = 0
    task: asyncio.Task[None] | None = None

    def beat(self) -> None:
        self.last_progress = time.monotonic()

    def problem(self) -> str | None:
        if self.task is not None and self.task.done():
            return f"{self.name} is not running"
        idle = time.monotonic() - self.last_progress
        if idle > self.stuck_after:
            return f"{self.name} made no progress for {idle:.0f}s"
        return None


@dataclass
class WorkerMonitor:
    tasks: list[TaskLiveness] = field(default_factory=list)
    stopping: bool = False

    def register(self, name: str, *, stuck_after: float) -> TaskLiveness:
        liveness = TaskLiveness(name, stuck_after)
        self.tasks.append(liveness)
        return liveness

    def problem(self) -> str | None:
        """The first dead or stuck task, or None when every one is healthy."""
        if self.stopping:
            return None
        return next((p for t in self.tasks if (p := t.problem()) is not None), None)
