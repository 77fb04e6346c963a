"""What a re-run must do: compare local files with the store's attachments by path and hash.

Each attachment `ingest` makes carries the attributes `path` and `sha256`. A local file
whose path is attached with the same hash (completed or still ingesting) is skipped, and
re-tagged when its `--attr` attributes changed; any other attachment of that path is stale
and is removed, with its File, once its replacement completed.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from openai import AsyncOpenAI

from maia_vectordb.cli.walk import LocalFile, sha256_of

PATH_ATTR = "path"
HASH_ATTR = "sha256"
LIVE = frozenset({"completed", "in_progress"})

Status = Literal["completed", "failed", "cancelled", "in_progress"]


@dataclass(frozen=True)
class Attached:
    file_id: str
    sha256: str | None
    status: str
    attributes: dict[str, str | float | bool] = field(default_factory=dict)
    """All of the attachment's attributes, `path` and `sha256` included."""


@dataclass(frozen=True)
class Pending:
    local: LocalFile
    sha256: str
    stale: tuple[Attached, ...]


@dataclass(frozen=True)
class Outcome:
    local: LocalFile
    status: Status
    code: str = ""
    message: str = ""
    file_id: str | None = None


@dataclass
class Plan:
    pending: list[Pending] = field(default_factory=list)
    skipped: list[LocalFile] = field(default_factory=list)
    retag: list[Attached] = field(default_factory=list)
    """Unchanged files whose user attributes differ from this run's `--attr`."""
    unreadable: list[Outcome] = field(default_factory=list)


async def attached_by_path(client: AsyncOpenAI, store_id: str) -> dict[str, list[Attached]]:
    """The store's attachments made by `ingest`, keyed by the `path` attribute."""
    found: defaultdict[str, list[Attached]] = defaultdict(list)
    async for item in client.vector_stores.files.list(vector_store_id=store_id, limit=100):
        attrs = item.attributes or {}
        path, digest = attrs.get(PATH_ATTR), attrs.get(HASH_ATTR)
        if isinstance(path, str):
            sha = digest if isinstance(digest, str) else None
            found[path].append(Attached(item.id, sha, item.status, dict(attrs)))
    return dict(found)


async def make_plan(
    files: Sequence[LocalFile],
    attached: dict[str, list[Attached]],
    attributes: Mapping[str, str | float | bool],
) -> Plan:
    plan = Plan()
    for local in files:
        try:
            digest = await asyncio.to_thread(sha256_of, local.path)
        except OSError as exc:
            plan.unreadable.append(Outcome(local, "failed", "unreadable", str(exc)))
            continue
        same_path = attached.get(local.key, [])
        current = [a for a in same_path if a.sha256 == digest and a.status in LIVE]
        if current:
            plan.skipped.append(local)
            plan.retag += [a for a in current if user_attributes(a) != dict(attributes)]
        else:
            plan.pending.append(Pending(local, digest, tuple(same_path)))
    return plan


def user_attributes(attached: Attached) -> dict[str, str | float | bool]:
    """What `--attr` set: everything but the attributes ingest keeps for itself."""
    return {k: v for k, v in attached.attributes.items() if k not in (PATH_ATTR, HASH_ATTR)}


def to_detach(pending: Pending, outcome: Status) -> list[str]:
    """A failed replacement leaves the old completed version searchable rather than nothing."""
    if outcome == "completed":
        return [a.file_id for a in pending.stale]
    return [a.file_id for a in pending.stale if a.status != "completed"]
