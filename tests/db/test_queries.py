"""db/queries: every statement over a tenant's rows takes the project, and applies it.

Three checks: each query function either requires `project_id` or is listed here as
serving every project (with the reason); only `scope` compares a project column; and
each scoped function, called with another project, finds and changes nothing.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import pkgutil
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import maia_vectordb.db.queries
from maia_vectordb.db.models import FileChunk
from maia_vectordb.db.pagination import Page, PageRequest
from maia_vectordb.db.queries import counts, file_batches, files, jobs, projects
from maia_vectordb.db.queries import vector_store_files as attachments
from maia_vectordb.db.queries import vector_stores as stores
from maia_vectordb.db.queries.counts import Tally
from maia_vectordb.embeddings.spec import ModelSpec
from maia_vectordb.schemas.vector_store_files import FileBatchCreate
from maia_vectordb.schemas.vector_stores import VectorStoreCreate
from maia_vectordb.services import file_batches as batch_service
from maia_vectordb.services import files as file_service
from maia_vectordb.services import keys
from maia_vectordb.services import vector_stores as store_service
from tests.conftest import TEST_DIMENSIONS

PACKAGE = Path(maia_vectordb.db.queries.__file__).parent
MODEL = ModelSpec("hash", "hash", TEST_DIMENSIONS)
BY_JOB = "the worker's, for jobs it claimed (the job row carries the project)"
SERVE_EVERY_PROJECT = {
    "chunks.replace_chunks": BY_JOB,
    "chunks.replace_many": BY_JOB,
    "file_batches.add_members": "members of a batch the caller has just made in its project",
    "file_parts.read_all": "bytes of a file the caller has already found in its project",
    "file_parts.stream_parts": "bytes of a file the caller has already found in its project",
    "file_parts.read_many": BY_JOB,
    "files.purge_expired": "housekeeping: every project's expired files",
    "tombstones.sweep": "housekeeping: every project's deleted items' places, a day old",
    "jobs.claim": "the queue is shared, fair across projects",
    "jobs.claim_many": "the queue is shared, fair across projects",
    "jobs.heartbeat": BY_JOB,
    "jobs.retry_later": BY_JOB,
    "jobs.finish": BY_JOB,
    "jobs.finish_many": BY_JOB,
    "jobs.lock_pending": BY_JOB,
    "jobs.load_targets": BY_JOB,
    "vector_store_files.settle_many": BY_JOB,
    "jobs.depth": "a server-wide metric",
    "keys.list_all": "key administration (the CLI)",
    "keys.registration": "key administration: which project a seeded key opens",
    "keys.revoke_by_hash": "key administration (the CLI)",
    "keys.revoke_by_prefix": "key administration (the CLI)",
    "keys.active_count": "whether the server has keys at all",
    "keys.counts": "whether the server has keys at all",
    "keys.find_active": "authentication: what finds the project",
    "keys.touch": "authentication: the key just found",
    "projects.ensure": "makes the project",
    "keyword_index.due_stores": "keyword indexing: the deployment's postings, every project's",
    "keyword_index.post_pending": "keyword indexing: one store's postings, by its key",
    "keyword_index.pending_total": "a server-wide metric",
    "keyword_index.purge_dropped": "keyword indexing: deleted stores' postings, by key",
    "keyword_index.try_post_lock": "keyword indexing: one poster across the deployment",
    "keyword_index.release_post_lock": "keyword indexing: one poster across the deployment",
    "vector_indexes.due_stores": "index builds: the deployment's indexes, every project's stores",
    "vector_indexes.stale_indexes": "index builds: the deployment's indexes",
    "vector_indexes.try_build_lock": "index builds: one at a time across the deployment",
    "vector_indexes.release_build_lock": "index builds: one at a time across the deployment",
    "vector_indexes.run_ddl": "index builds: the deployment's indexes",
}


def query_functions() -> dict[str, Callable[..., Any]]:
    """Every public async function of every query module, by `module.function`."""
    found = {}
    for info in pkgutil.iter_modules([str(PACKAGE)]):
        module = importlib.import_module(f"maia_vectordb.db.queries.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            runs_sql = inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn)
            if fn.__module__ == module.__name__ and not name.startswith("_") and runs_sql:
                found[f"{info.name}.{name}"] = fn
    return found


def project_comparisons(source: str) -> list[int]:
    """Lines comparing a `project_id` column (or calling a method on one)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            operands = [node.func.value]
        else:
            continue
        if any(isinstance(o, ast.Attribute) and o.attr == "project_id" for o in operands):
            lines.append(node.lineno)
    return lines


class TestEveryQueryTakesTheProject:
    @pytest.mark.parametrize("name", sorted(query_functions()))
    def test_requires_project_id_or_says_why_not(self, name: str) -> None:
        parameter = inspect.signature(query_functions()[name]).parameters.get("project_id")
        if name in SERVE_EVERY_PROJECT:
            assert parameter is None, f"{name} takes a project: drop it from the exemptions"
            return
        assert parameter is not None, f"{name} must take project_id (or be listed, with why)"
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        assert parameter.default is inspect.Parameter.empty

    def test_every_exemption_names_a_query(self) -> None:
        assert set(SERVE_EVERY_PROJECT) <= set(query_functions())

    @pytest.mark.parametrize(
        "path", sorted(p for p in PACKAGE.glob("*.py") if p.name != "scope.py"), ids=str
    )
    def test_only_scope_compares_a_project(self, path: Path) -> None:
        assert project_comparisons(path.read_text()) == []

    @pytest.mark.parametrize(
        "source",
        ["x.where(File.project_id == p)", "x.where(p != M.project_id)", "M.project_id.in_(ps)"],
    )
    def test_the_check_sees_a_comparison(self, source: str) -> None:
        assert project_comparisons(source) == [1]


@dataclass(frozen=True)
class World:
    alice: uuid.UUID
    bob: uuid.UUID
    store: str
    file: str
    batch: str


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    """Alice's file, sent to her store by a batch, with a chunk and its job still queued
    (no worker runs here); Bob owns nothing."""
    async with sessionmaker() as s, s.begin():
        alice = await keys.ensure_project(s, "alice")
        bob = await keys.ensure_project(s, "bob")
        upload = file_service.Upload("a.txt", "assistants", io.BytesIO(b"alice's secret"))
        made = await file_service.upload(s, project_id=alice, upload=upload, max_bytes=1024)
        body = VectorStoreCreate(name="alice")
        store = await store_service.create(s, project_id=alice, body=body, offered=[MODEL])
        batch = await batch_service.create(
            s, project_id=alice, vector_store_id=store.id, body=FileBatchCreate(file_ids=[made.id])
        )
        s.add(
            FileChunk(
                vector_store_id=store.id,
                file_id=made.id,
                chunk_index=0,
                text="alice's secret",
                token_count=3,
                attributes={"owner": "alice"},
                embedding=[1.0] * TEST_DIMENSIONS,
            )
        )
    return World(alice, bob, store.id, made.id, batch.id)


Probe = Callable[[AsyncSession, uuid.UUID, World], Awaitable[Any]]
PAGE = PageRequest(limit=10, order="desc")
READS: dict[str, Probe] = {
    "files.get": lambda s, p, w: files.get(s, project_id=p, file_id=w.file),
    "files.list_page": lambda s, p, w: files.list_page(s, project_id=p, page=PAGE, purpose=None),
    "files.lock_live": lambda s, p, w: files.lock_live(s, project_id=p, file_ids=[w.file]),
    "vector_stores.get": lambda s, p, w: stores.get(s, project_id=p, vector_store_id=w.store),
    "vector_stores.get locked": lambda s, p, w: stores.get(
        s, project_id=p, vector_store_id=w.store, lock=True
    ),
    "vector_stores.list_page": lambda s, p, w: stores.list_page(s, project_id=p, page=PAGE),
    "vector_store_files.get": lambda s, p, w: attachments.get(
        s, project_id=p, vector_store_id=w.store, file_id=w.file, lock=True
    ),
    "vector_store_files.list_page": lambda s, p, w: attachments.list_page(
        s, project_id=p, vector_store_id=w.store, page=PAGE, status=None, batch_id=w.batch
    ),
    "vector_store_files.content_slice": lambda s, p, w: attachments.content_slice(
        s, project_id=p, vector_store_id=w.store, file_id=w.file, start=0, chars=10
    ),
    "file_batches.get": lambda s, p, w: file_batches.get(
        s, project_id=p, vector_store_id=w.store, batch_id=w.batch
    ),
    "counts.store_tallies": lambda s, p, w: counts.store_tallies(
        s, project_id=p, store_ids=[w.store]
    ),
    "counts.batch_tally": lambda s, p, w: counts.batch_tally(s, project_id=p, batch_id=w.batch),
    "projects.count_objects": lambda s, p, w: projects.count_objects(s, project_id=p),
}
WRITES: dict[str, Probe] = {
    "files.delete": lambda s, p, w: files.delete(s, project_id=p, file_id=w.file),
    "vector_stores.delete": lambda s, p, w: stores.delete(s, project_id=p, vector_store_id=w.store),
    "vector_stores.mark_active": lambda s, p, w: stores.mark_active(
        s, project_id=p, vector_store_id=w.store
    ),
    "vector_store_files.relabel_chunks": lambda s, p, w: attachments.relabel_chunks(
        s, project_id=p, vector_store_id=w.store, file_id=w.file, attributes={"owner": "bob"}
    ),
    "vector_store_files.detach": lambda s, p, w: attachments.detach(
        s, project_id=p, vector_store_id=w.store, file_id=w.file
    ),
    "file_batches.cancel_pending": lambda s, p, w: file_batches.cancel_pending(
        s, project_id=p, vector_store_id=w.store, batch_id=w.batch
    ),
    "jobs.discard": lambda s, p, w: jobs.discard(
        s, project_id=p, vector_store_id=w.store, file_ids=[w.file]
    ),
}

INSERTS = {"vector_store_files.attach", "jobs.enqueue", "keys.add", "file_parts.write_upload"}
"""They write new rows with the project they are given: there is nothing of another's to find."""


def found(value: Any) -> bool:
    if isinstance(value, Page):
        return bool(value.items)
    if isinstance(value, Tally):
        return value.total > 0
    return bool(value)


async def snapshot(sessionmaker: async_sessionmaker[AsyncSession], w: World) -> tuple[Any, ...]:
    """Alice's world as she sees it, read afresh."""
    async with sessionmaker() as s:
        store = await stores.get(s, project_id=w.alice, vector_store_id=w.store)
        attached = await attachments.get(
            s, project_id=w.alice, vector_store_id=w.store, file_id=w.file
        )
        return (
            await files.get(s, project_id=w.alice, file_id=w.file) is not None,
            store.last_active_at if store else None,
            attached.status if attached else None,
            list((await s.execute(select(FileChunk.attributes))).scalars()),
            await jobs.depth(s),
        )


class TestAnotherProjectSeesNothing:
    def test_every_scoped_query_is_probed_here(self) -> None:
        scoped = set(query_functions()) - set(SERVE_EVERY_PROJECT) - INSERTS
        assert scoped == {name.split()[0] for name in [*READS, *WRITES]}

    @pytest.mark.parametrize("name", sorted(READS))
    async def test_reads_find_only_the_owners_rows(
        self, sessionmaker: async_sessionmaker[AsyncSession], world: World, name: str
    ) -> None:
        async with sessionmaker() as s, s.begin():
            assert not found(await READS[name](s, world.bob, world))
            assert found(await READS[name](s, world.alice, world))

    @pytest.mark.parametrize("name", sorted(WRITES))
    async def test_writes_change_only_the_owners_rows(
        self, sessionmaker: async_sessionmaker[AsyncSession], world: World, name: str
    ) -> None:
        before = await snapshot(sessionmaker, world)
        async with sessionmaker() as s, s.begin():
            await WRITES[name](s, world.bob, world)
        assert await snapshot(sessionmaker, world) == before
        async with sessionmaker() as s, s.begin():
            await WRITES[name](s, world.alice, world)
        assert await snapshot(sessionmaker, world) != before
