"""Upload, attach in file batches, wait for the server to ingest, and tidy stale copies."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import openai
from openai import AsyncOpenAI
from openai.types import FileChunkingStrategyParam
from openai.types.vector_stores.file_batch_create_params import File

from maia_vectordb.cli.connect import error_code, error_message
from maia_vectordb.cli.ingest_plan import (
    HASH_ATTR,
    PATH_ATTR,
    Attached,
    Outcome,
    Pending,
    to_detach,
)
from maia_vectordb.cli.ingest_report import IngestProgress

BATCH_SIZE = 500
"""The server's (and OpenAI's former) limit of files per batch."""
FIRST_POLL_SECONDS = 0.1
MAX_POLL_SECONDS = 1.0

AttributeValue = str | float | bool


@dataclass(frozen=True)
class Options:
    attributes: dict[str, AttributeValue]
    chunking: FileChunkingStrategyParam
    concurrency: int


@dataclass(frozen=True)
class Uploaded:
    file_id: str
    pending: Pending
    sha256: str
    """Of the bytes actually sent, in case the file changed after it was planned."""


@dataclass
class Run:
    client: AsyncOpenAI
    store_id: str
    options: Options
    bars: IngestProgress
    batches: list[str] = field(default_factory=list)
    sent: dict[str, Pending] = field(default_factory=dict)
    failures: list[Outcome] = field(default_factory=list)


async def send(run: Run, pending: Sequence[Pending]) -> None:
    """Group by group, so the server ingests one batch while the next one uploads."""
    for start in range(0, len(pending), BATCH_SIZE):
        uploaded = await _upload_group(run, pending[start : start + BATCH_SIZE])
        if uploaded:
            run.batches.append(await _attach(run, uploaded))
            run.sent.update((u.file_id, u.pending) for u in uploaded)


async def _upload_group(run: Run, group: Sequence[Pending]) -> list[Uploaded]:
    limit = asyncio.Semaphore(run.options.concurrency)
    try:
        async with asyncio.TaskGroup() as tasks:
            started = [tasks.create_task(_upload_one(run, item, limit)) for item in group]
    except ExceptionGroup as errors:
        # A bad key or a lost server stops every upload alike: the first one speaks for all.
        raise errors.exceptions[0] from None
    return [result for task in started if (result := task.result()) is not None]


async def _upload_one(run: Run, item: Pending, limit: asyncio.Semaphore) -> Uploaded | None:
    async with limit:
        try:
            data, digest = await asyncio.to_thread(_read, item.local.path)
            created = await run.client.files.create(
                file=(item.local.path.name, data), purpose="assistants"
            )
        except OSError as exc:
            run.failures.append(Outcome(item.local, "failed", "unreadable", str(exc)))
            return None
        except (openai.AuthenticationError, openai.PermissionDeniedError):
            raise
        except openai.APIStatusError as exc:
            run.failures.append(Outcome(item.local, "failed", error_code(exc), error_message(exc)))
            return None
        finally:
            run.bars.sent(item.local.size)
    return Uploaded(created.id, item, digest)


def _read(path: Path) -> tuple[bytes, str]:
    data = path.read_bytes()
    return data, hashlib.sha256(data).hexdigest()


async def _attach(run: Run, uploaded: Sequence[Uploaded]) -> str:
    files = [
        File(
            file_id=u.file_id,
            attributes={
                **run.options.attributes,
                PATH_ATTR: u.pending.local.key,
                HASH_ATTR: u.sha256,
            },
            chunking_strategy=run.options.chunking,
        )
        for u in uploaded
    ]
    batch = await run.client.vector_stores.file_batches.create(run.store_id, files=files)
    return batch.id


async def wait(run: Run) -> None:
    """Poll every batch until none is in progress: quickly at first, as small sets finish
    within a second, then at most once a second."""
    remaining, finished = set(run.batches), dict.fromkeys(run.batches, 0)
    pause = FIRST_POLL_SECONDS
    while True:
        for batch_id in sorted(remaining):
            batch = await run.client.vector_stores.file_batches.retrieve(
                batch_id, vector_store_id=run.store_id
            )
            counts = batch.file_counts
            finished[batch_id] = counts.completed + counts.failed + counts.cancelled
            if batch.status != "in_progress":
                remaining.discard(batch_id)
        store = await run.client.vector_stores.retrieve(run.store_id)
        run.bars.ingested(sum(finished.values()) + len(run.failures), store.usage_bytes)
        if not remaining:
            return
        await asyncio.sleep(pause)
        pause = min(pause * 2, MAX_POLL_SECONDS)


async def outcomes(run: Run) -> list[Outcome]:
    """Per-file results with `last_error`, which batch counts alone cannot tell."""
    results = list(run.failures)
    for batch_id in run.batches:
        async for item in run.client.vector_stores.file_batches.list_files(
            batch_id, vector_store_id=run.store_id, limit=100
        ):
            error = item.last_error
            results.append(
                Outcome(
                    run.sent[item.id].local,
                    item.status,
                    error.code if error else "",
                    error.message if error else "",
                    item.id,
                )
            )
    return results


async def detach_stale(
    client: AsyncOpenAI, store_id: str, pending: Sequence[Pending], results: Sequence[Outcome]
) -> int:
    """Remove superseded and failed uploads, attachment and File alike, so re-runs leave
    no orphans behind (a failed file is uploaded afresh next time); count replacements."""
    by_local = {item.local: item for item in pending}
    replaced = 0
    for outcome in results:
        item = by_local.get(outcome.local)
        stale = to_detach(item, outcome.status) if item else []
        failed = [outcome.file_id] if outcome.status == "failed" and outcome.file_id else []
        for file_id in [*stale, *failed]:
            await _discard(client, store_id, file_id)
        replaced += bool(stale) and outcome.status == "completed"
    return replaced


async def _discard(client: AsyncOpenAI, store_id: str, file_id: str) -> None:
    with contextlib.suppress(openai.NotFoundError):
        await client.vector_stores.files.delete(file_id, vector_store_id=store_id)
    with contextlib.suppress(openai.NotFoundError):
        await client.files.delete(file_id)


async def retag(
    client: AsyncOpenAI,
    store_id: str,
    stale: Sequence[Attached],
    attributes: dict[str, AttributeValue],
) -> None:
    """Apply this run's `--attr` to unchanged files, keeping `path` and `sha256`."""
    for item in stale:
        kept = {k: v for k, v in item.attributes.items() if k in (PATH_ATTR, HASH_ATTR)}
        await client.vector_stores.files.update(
            item.file_id, vector_store_id=store_id, attributes={**attributes, **kept}
        )
