"""What `ingest` shows: live bars on stderr while it works, a summary table on stdout after."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

from rich.console import Console
from rich.filesize import decimal
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from maia_vectordb.cli.console_logs import logs_through
from maia_vectordb.cli.ingest_plan import Outcome

MAX_COMPLETED_ROWS = 50


class RateColumn(ProgressColumn):
    """Bytes per second while uploading, files per second while the server ingests."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("", style="progress.data.speed")
        shown = f"{decimal(int(speed))}/s" if task.fields["unit"] == "bytes" else f"{speed:.1f}/s"
        return Text(shown, style="progress.data.speed")


class IngestProgress:
    """Two bars: bytes going up (with files uploaded), then files the server has finished.
    While they show, log lines are printed above them instead of through them."""

    def __init__(self, console: Console, *, files: int, total_bytes: int) -> None:
        self._files = files
        self._logs = contextlib.ExitStack()
        self._uploaded = 0
        self._progress = Progress(
            TextColumn("{task.description:<9}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[detail]}"),
            RateColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self._upload = self._add("upload", total_bytes, "bytes")
        self._ingest = self._add("ingest", files, "files")

    def _add(self, name: str, total: int, unit: str) -> TaskID:
        return self._progress.add_task(name, total=total, unit=unit, detail=f"0/{self._files}")

    def __enter__(self) -> IngestProgress:
        self._logs.enter_context(logs_through(self._progress.console))
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()
        self._logs.close()

    def sent(self, size: int) -> None:
        """Called for failed uploads too, so the bar still reaches its end."""
        self._uploaded += 1
        upload_task = self._progress.tasks[self._upload]
        sent = decimal(int(upload_task.completed) + size)
        detail = f"{self._uploaded}/{self._files} files · {sent}"
        self._progress.update(self._upload, advance=size, detail=detail)

    def ingested(self, done: int, usage_bytes: int) -> None:
        detail = f"{done}/{self._files} files · store {decimal(usage_bytes)}"
        self._progress.update(self._ingest, completed=done, detail=detail)


@dataclass(frozen=True)
class Summary:
    store_id: str
    store_name: str
    outcomes: Sequence[Outcome]
    skipped: int
    replaced: int
    ignored: int
    excluded: int
    usage_bytes: int

    @property
    def store(self) -> str:
        return f"{self.store_name} ({self.store_id})"

    def split(self) -> tuple[list[Outcome], list[Outcome]]:
        """(completed, not completed), each by key."""
        ordered = sorted(self.outcomes, key=lambda o: o.local.key)
        return [o for o in ordered if o.status == "completed"], [
            o for o in ordered if o.status != "completed"
        ]


def render_summary(console: Console, summary: Summary) -> None:
    """Failures come last, just above the counts, so a long run cannot push them off screen."""
    completed, failed = summary.split()
    if summary.outcomes:
        console.print(_files_table(summary.store, failed, completed))
    console.print(
        f"completed {len(completed)} · skipped (unchanged) {summary.skipped} · "
        f"failed {len(failed)} · replaced {summary.replaced} · "
        f"ignored {summary.ignored} (hidden or symlinked out of the tree) · "
        f"excluded {summary.excluded}\n"
        f"store {summary.store}: {decimal(summary.usage_bytes)} in use",
        highlight=False,
    )
    if failed:
        console.print(f"{len(failed)} file(s) failed: see the red rows above", style="bold red")


def summary_json(summary: Summary) -> dict[str, object]:
    completed, failed = summary.split()
    return {
        "store": {"id": summary.store_id, "name": summary.store_name},
        "files": [outcome_json(o) for o in [*completed, *failed]],
        "completed": len(completed),
        "failed": len(failed),
        "skipped": summary.skipped,
        "replaced": summary.replaced,
        "ignored": summary.ignored,
        "excluded": summary.excluded,
        "usage_bytes": summary.usage_bytes,
    }


def outcome_json(outcome: Outcome) -> dict[str, object]:
    return {
        "path": outcome.local.key,
        "status": outcome.status,
        "file_id": outcome.file_id,
        "error": {"code": outcome.code, "message": outcome.message} if outcome.code else None,
    }


def _files_table(store: str, failed: list[Outcome], completed: list[Outcome]) -> Table:
    """Failures last and always in full; a long tail of successes is only counted."""
    table = Table(title=f"ingest into {store}", title_justify="left")
    table.add_column("file", overflow="fold")
    table.add_column("status")
    table.add_column("reason", overflow="fold")
    for item in completed[:MAX_COMPLETED_ROWS]:
        table.add_row(item.local.key, Text("completed", style="green"), "")
    if len(completed) > MAX_COMPLETED_ROWS:
        table.add_row(f"… {len(completed) - MAX_COMPLETED_ROWS} more", "completed", "")
    for item in failed:
        reason = f"{item.code}: {item.message}" if item.code else item.message
        table.add_row(item.local.key, Text(item.status, style="red"), reason, style="red")
    return table
