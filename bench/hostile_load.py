"""Mixed hostile load on a live server: no 500s, and the database stays consistent.

8 clients of two projects run for 60 s, each picking at random: uploads, attaches
(with attributes and chunking strategies), batch creates, searches in every
`search_mode`, attribute updates, detaches, file deletes, store creates and
deletes, and slow (trickling) uploads, all on the same few ids so they race.
Every response is counted by operation and status. Afterwards the server settles
and the database is read over its socket: each store's `file_counts` must equal
its live attachments by status, no chunk may lack its attachment or file, no job
its attachment, and no attachment may be left `in_progress` without a job.

    uv run --frozen python bench/hostile_load.py [--clients 8] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from harness import log, machine, maia_server, revision

KEYS = {"alpha": "sk-bench-hostile-alpha-0001", "beta": "sk-bench-hostile-beta-00001"}
WORDS = [
    "river",
    "stone",
    "lantern",
    "orbit",
    "velvet",
    "harbor",
    "quartz",
    "meadow",
    "cipher",
    "falcon",
    "ember",
    "tundra",
]
BOUNDARY = "b0undary"
SETTLE_WITHIN = 120.0


@dataclass
class Project:
    """What one project's clients know about: ids they race on, shared between clients."""

    client: httpx.AsyncClient
    key: str
    stores: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


@dataclass
class Tally:
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def record(self, op: str, response: httpx.Response) -> None:
        self.statuses[(op, response.status_code)] += 1
        if response.status_code >= 500:
            self.errors.append(f"{op} {response.status_code} {response.text[:300]}")


def _text(rng: random.Random) -> bytes:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 600))).encode()


def _attributes(rng: random.Random) -> dict[str, Any]:
    return {"year": rng.randint(1990, 2030), "topic": rng.choice(WORDS), "ok": rng.random() < 0.5}


def _strategy(rng: random.Random) -> dict[str, Any] | None:
    if rng.random() < 0.5:
        return None
    size = rng.choice((100, 200, 400))
    return {"type": "static", "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": 20}}


def _pick(rng: random.Random, ids: list[str]) -> str:
    return rng.choice(ids) if ids else "file-missing"


async def upload(p: Project, rng: random.Random, t: Tally) -> None:
    files = {"file": (f"{rng.choice(WORDS)}.txt", _text(rng), "text/plain")}
    r = await p.client.post("/v1/files", files=files, data={"purpose": "assistants"})
    t.record("upload", r)
    if r.status_code == 200:
        p.files.append(r.json()["id"])


async def create_store(p: Project, rng: random.Random, t: Tally) -> None:
    body: dict[str, Any] = {"name": rng.choice(WORDS)}
    if p.files and rng.random() < 0.3:
        body["file_ids"] = rng.sample(p.files, min(3, len(p.files)))
    r = await p.client.post("/v1/vector_stores", json=body)
    t.record("store_create", r)
    if r.status_code == 200:
        p.stores.append(r.json()["id"])


async def attach(p: Project, rng: random.Random, t: Tally) -> None:
    body: dict[str, Any] = {"file_id": _pick(rng, p.files), "attributes": _attributes(rng)}
    if (strategy := _strategy(rng)) is not None:
        body["chunking_strategy"] = strategy
    r = await p.client.post(f"/v1/vector_stores/{_pick(rng, p.stores)}/files", json=body)
    t.record("attach", r)


async def batch(p: Project, rng: random.Random, t: Tally) -> None:
    ids = rng.sample(p.files, min(rng.randint(1, 6), len(p.files))) or ["file-missing"]
    body: dict[str, Any] = {"file_ids": ids, "attributes": _attributes(rng)}
    r = await p.client.post(f"/v1/vector_stores/{_pick(rng, p.stores)}/file_batches", json=body)
    t.record("batch_create", r)
    if r.status_code == 200 and rng.random() < 0.3:
        batch_id = r.json()["id"]
        path = f"/v1/vector_stores/{r.json()['vector_store_id']}/file_batches/{batch_id}"
        t.record("batch_cancel", await p.client.post(f"{path}/cancel"))
        t.record("batch_files", await p.client.get(f"{path}/files"))


async def search(p: Project, rng: random.Random, t: Tally) -> None:
    body: dict[str, Any] = {
        "query": " ".join(rng.sample(WORDS, 2)),
        "search_mode": rng.choice(("vector", "keyword", "hybrid")),
        "max_num_results": rng.randint(1, 20),
    }
    if rng.random() < 0.5:
        body["filters"] = {"type": "gte", "key": "year", "value": rng.randint(1990, 2030)}
    r = await p.client.post(f"/v1/vector_stores/{_pick(rng, p.stores)}/search", json=body)
    t.record(f"search_{body['search_mode']}", r)


async def update_attributes(p: Project, rng: random.Random, t: Tally) -> None:
    path = f"/v1/vector_stores/{_pick(rng, p.stores)}/files/{_pick(rng, p.files)}"
    t.record("attr_update", await p.client.post(path, json={"attributes": _attributes(rng)}))


async def detach(p: Project, rng: random.Random, t: Tally) -> None:
    path = f"/v1/vector_stores/{_pick(rng, p.stores)}/files/{_pick(rng, p.files)}"
    t.record("detach", await p.client.delete(path))


async def _delete_one(
    p: Project, rng: random.Random, ids: list[str], route: str, op: str, t: Tally
) -> None:
    """Delete a random id of `ids` (always leaving a few to race on); forget it once gone."""
    if len(ids) < 4:
        return
    target = rng.choice(ids)
    r = await p.client.delete(f"{route}/{target}")
    t.record(op, r)
    if r.status_code in (200, 404) and target in ids:
        ids.remove(target)


async def delete_file(p: Project, rng: random.Random, t: Tally) -> None:
    await _delete_one(p, rng, p.files, "/v1/files", "file_delete", t)


async def delete_store(p: Project, rng: random.Random, t: Tally) -> None:
    await _delete_one(p, rng, p.stores, "/v1/vector_stores", "store_delete", t)


async def slow_upload(p: Project, rng: random.Random, t: Tally) -> None:
    """A multipart upload that trickles 1 KiB every 0.5 s for a few seconds, then completes."""
    url = p.client.base_url
    body = _text(rng)
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="slow.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    pieces = [body[i : i + 1024] for i in range(0, len(body), 1024)] or [b"x"]
    length = len(head) + sum(map(len, pieces)) + len(tail)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(
        f"POST /v1/files HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
        f"Authorization: Bearer {p.key}\r\nContent-Length: {length}\r\nConnection: close\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n".encode()
        + head
    )
    for piece in pieces:
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(0.5)
    writer.write(tail)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    status = int(status_line.split()[1]) if status_line else 0
    t.statuses[("slow_upload", status)] += 1


OPS: list[tuple[Callable[[Project, random.Random, Tally], Awaitable[None]], int]] = [
    (upload, 14),
    (create_store, 4),
    (attach, 14),
    (batch, 8),
    (search, 24),
    (update_attributes, 8),
    (detach, 8),
    (delete_file, 5),
    (delete_store, 2),
    (slow_upload, 2),
]


async def client_loop(p: Project, seed: int, until: float, t: Tally) -> None:
    rng = random.Random(seed)
    ops, weights = zip(*OPS, strict=True)
    while time.monotonic() < until:
        op = rng.choices(ops, weights)[0]
        try:
            await op(p, rng, t)
        except (httpx.TransportError, OSError, ValueError, IndexError) as exc:
            t.statuses[(op.__name__, -1)] += 1
            t.errors.append(f"{op.__name__} transport {exc!r}")


async def seed(p: Project, rng: random.Random, t: Tally) -> None:
    for _ in range(4):
        await upload(p, rng, t)
    for _ in range(3):
        await create_store(p, rng, t)


async def run_load(base: str, clients: int, seconds: float) -> tuple[Tally, list[Project]]:
    tally = Tally()
    projects = [
        Project(httpx.AsyncClient(base_url=base, headers={"authorization": f"Bearer {k}"}), k)
        for k in KEYS.values()
    ]
    rng = random.Random(12)
    for p in projects:
        await seed(p, rng, tally)
    until = time.monotonic() + seconds
    loops = [
        client_loop(projects[i % len(projects)], 1000 + i, until, tally) for i in range(clients)
    ]
    await asyncio.gather(*loops)
    return tally, projects


async def settle(projects: list[Project]) -> float:
    """Seconds until no store reports a file `in_progress` (or the limit)."""
    started = time.monotonic()
    while time.monotonic() - started < SETTLE_WITHIN:
        pending = 0
        for p in projects:
            for store in list(p.stores):
                r = await p.client.get(f"/v1/vector_stores/{store}")
                if r.status_code == 200:
                    pending += r.json()["file_counts"]["in_progress"]
        if pending == 0:
            break
        await asyncio.sleep(1)
    return round(time.monotonic() - started, 1)


CHECKS = {
    "chunks without attachment": """
        SELECT count(*) FROM file_chunks c WHERE NOT EXISTS (SELECT 1 FROM vector_store_files a
        WHERE a.vector_store_id = c.vector_store_id AND a.file_id = c.file_id)""",
    "chunks without file": """
        SELECT count(*) FROM file_chunks c WHERE NOT EXISTS (
        SELECT 1 FROM files f WHERE f.id = c.file_id)""",
    "chunks of an attachment not completed": """
        SELECT count(*) FROM file_chunks c JOIN vector_store_files a
        ON a.vector_store_id = c.vector_store_id AND a.file_id = c.file_id
        WHERE a.status <> 'completed'""",
    "jobs without attachment": """
        SELECT count(*) FROM ingest_jobs j WHERE NOT EXISTS (SELECT 1 FROM vector_store_files a
        WHERE a.vector_store_id = j.vector_store_id AND a.file_id = j.file_id)""",
    "in_progress attachments without a job": """
        SELECT count(*) FROM vector_store_files a WHERE a.status = 'in_progress' AND NOT EXISTS (
        SELECT 1 FROM ingest_jobs j WHERE j.vector_store_id = a.vector_store_id
        AND j.file_id = a.file_id)""",
    "completed attachments with no chunk": """
        SELECT count(*) FROM vector_store_files a WHERE a.status = 'completed' AND a.usage_bytes > 0
        AND NOT EXISTS (SELECT 1 FROM file_chunks c WHERE c.vector_store_id = a.vector_store_id
        AND c.file_id = a.file_id)""",
    "BM25 postings without chunk": """
        SELECT count(*) FROM bm25_postings p WHERE NOT EXISTS (
        SELECT 1 FROM file_chunks c WHERE c.id = p.chunk_id)""",
    "BM25 pending rows without chunk, or beside postings": """
        SELECT count(*) FROM bm25_pending p WHERE NOT EXISTS (
        SELECT 1 FROM file_chunks c WHERE c.id = p.chunk_id) OR EXISTS (
        SELECT 1 FROM bm25_postings q
        WHERE q.store_key = p.store_key AND q.chunk_id = p.chunk_id)""",
    "BM25 store totals unequal to its chunks": """
        SELECT count(*) FROM (SELECT vector_store_id, count(*) AS chunks,
        sum(bm25_length(tsv)) AS length FROM file_chunks GROUP BY 1) AS real
        FULL JOIN bm25_stores s USING (vector_store_id)
        WHERE coalesce(s.chunks, 0) <> coalesce(real.chunks, 0)
        OR coalesce(s.length, 0) <> coalesce(real.length, 0)""",
    "attachments of a store in another project": """
        SELECT count(*) FROM vector_store_files a JOIN vector_stores s ON s.id = a.vector_store_id
        WHERE s.project_id <> a.project_id""",
}

REAL_COUNTS = """
    SELECT a.vector_store_id, a.status, count(*) FROM vector_store_files a JOIN files f
    ON f.id = a.file_id WHERE f.expires_at IS NULL OR f.expires_at > now()
    GROUP BY 1, 2"""


async def consistency(pgdata: Path, projects: list[Project]) -> dict[str, int]:
    """Each check's count of bad rows; `file_counts mismatches` compares API with rows."""
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    conn = await asyncpg.connect(host=lines[4], port=int(lines[3]), user="postgres")
    try:
        found = {name: int(await conn.fetchval(sql)) for name, sql in CHECKS.items()}
        real: dict[str, Counter[str]] = {}
        for store, status, count in await conn.fetch(REAL_COUNTS):
            real.setdefault(store, Counter())[status] = int(count)
        stores = await conn.fetch("SELECT id FROM vector_stores")
    finally:
        await conn.close()
    found["file_counts mismatches"] = await _mismatches(projects, real)
    found["stores checked"] = len(stores)
    return found


async def _mismatches(projects: list[Project], real: dict[str, Counter[str]]) -> int:
    bad = 0
    for p in projects:
        for store in p.stores:
            r = await p.client.get(f"/v1/vector_stores/{store}")
            if r.status_code != 200:
                continue
            counts = r.json()["file_counts"]
            rows = real.get(store, Counter())
            expected = {s: rows[s] for s in ("in_progress", "completed", "failed", "cancelled")}
            expected["total"] = sum(rows.values())
            if any(counts[k] != v for k, v in expected.items()):
                bad += 1
                log(f"{store}: API {counts} but rows {dict(rows)}")
    return bad


async def measure(base: str, pgdata: Path, clients: int, seconds: float) -> None:
    started = time.monotonic()
    tally, projects = await run_load(base, clients, seconds)
    wall = time.monotonic() - started
    settled = await settle(projects)
    found = await consistency(pgdata, projects)
    for p in projects:
        await p.client.aclose()
    report(tally, found, clients, seconds, wall, settled)


def report(
    tally: Tally, found: dict[str, int], clients: int, seconds: float, wall: float, settled: float
) -> None:
    total = sum(tally.statuses.values())
    by_status = Counter[int]()
    for (_, status), count in tally.statuses.items():
        by_status[status] += count
    print(f"{clients} clients, {seconds:.0f} s of mixed load, at {revision()}:")
    print(f"  requests: {total} in {wall:.1f} s; by status: {dict(sorted(by_status.items()))}")
    for op in sorted({op for op, _ in tally.statuses}):
        row = {s: c for (o, s), c in sorted(tally.statuses.items()) if o == op}
        print(f"    {op}: {row}")
    print(f"  responses with status 500: {by_status[500]}; any 5xx: {_fives(by_status)}")
    print(f"  settled (no file in_progress) after {settled} s")
    for name, count in found.items():
        print(f"  {name}: {count}")
    for line in tally.errors[:10]:
        print(f"  ! {line}")


def _fives(by_status: Counter[int]) -> int:
    return sum(c for s, c in by_status.items() if s >= 500)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="maia-hostile-") as tmp:
        data = Path(tmp) / "data"
        keys = ",".join(f"{name}:{key}" for name, key in KEYS.items())
        settings = {"MAIA_DATA_DIR": str(data), "MAIA_API_KEYS": keys, "LOG_LEVEL": "WARNING"}
        with maia_server(Path(tmp), EMBEDDING_PROVIDER="hash", **settings) as server:
            log(f"server ready at {server.base_url}")
            asyncio.run(measure(server.base_url, data / "pgdata", opts.clients, opts.seconds))
        print_log_problems(server.log_path)
    print(machine())


def print_log_problems(log_path: Path) -> None:
    """The server's warnings and errors by message (LOG_LEVEL=WARNING keeps only those)."""
    levels = (" WARNING ", " ERROR ", " CRITICAL ")
    lines = log_path.read_text(errors="replace").splitlines()
    problems = [line for line in lines if any(level in line for level in levels)]
    found = Counter(line.split(" ", 2)[-1][:140] for line in problems)
    print(f"  server log: {sum(found.values())} warning/error lines")
    for message, count in found.most_common(8):
        print(f"    {count} x {message}")


if __name__ == "__main__":
    main()
