"""Slow clients against a live server: do they starve another project, or kill ingestion?

30 clients of one project trickle multipart uploads (1 KiB a second) for 30 s while
another project lists its stores every 0.2 s and uploads and attaches a 1 KiB file.
Reported: the other project's statuses and latency, how long its file took to
complete (against the same file alone before, and again after the slow uploads
ended), and what `/health/ready` said of the workers meanwhile and afterwards.
Before issue 12 the slow uploads held the pool: the other project got 500s and its
file stayed `in_progress`.

    uv run --frozen python bench/slow_clients.py [--clients 30] [--hold 30]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from harness import machine, maia_server, percentiles, revision

SLOW_KEY = "sk-bench-slow-project-0001"
OTHER_KEY = "sk-bench-other-project-001"
BOUNDARY = "b0undary"
HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="slow.txt"\r\n'
    "Content-Type: text/plain\r\n\r\n"
).encode()


async def trickle(base: str, hold: float) -> None:
    """One upload that declares 1 MiB and sends 1 KiB a second, then hangs up."""
    url = httpx.URL(base)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(
        (
            f"POST /v1/files HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
            f"Authorization: Bearer {SLOW_KEY}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {1024 * 1024}\r\n\r\n"
        ).encode()
        + HEAD
    )
    deadline = time.monotonic() + hold
    while time.monotonic() < deadline and not reader.at_eof():
        writer.write(b"x" * 1024)
        await writer.drain()
        await asyncio.sleep(1)
    writer.close()


async def other_project(client: httpx.AsyncClient, store: str, hold: float) -> dict[str, object]:
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    await asyncio.sleep(5)  # the slow uploads are all under way
    ingest = asyncio.create_task(_ingest_one(client, store))
    deadline = time.monotonic() + hold - 5
    while time.monotonic() < deadline:
        started = time.perf_counter()
        response = await client.get("/v1/vector_stores")
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[response.status_code] += 1
        await asyncio.sleep(0.2)
    ready = await _ready(client)
    completed = await ingest
    p50, p95, p99 = percentiles(latencies)
    return {
        "statuses": dict(statuses),
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "p99_ms": round(p99, 1),
        "file_completed_s": completed,
        "ready_during": ready,
    }


async def _ready(client: httpx.AsyncClient) -> str:
    """`/health/ready`'s status and what it says of the workers."""
    response = await client.get("/health/ready")
    return f"{response.status_code} workers={response.json().get('workers')}"


async def _ingest_one(client: httpx.AsyncClient, store: str) -> float | str:
    started = time.monotonic()
    made = await client.post(
        "/v1/files", files={"file": ("small.txt", b"tiny " * 200)}, data={"purpose": "assistants"}
    )
    if made.status_code != 200:
        return f"upload answered {made.status_code}"
    file_id = made.json()["id"]
    attach = f"/v1/vector_stores/{store}/files"
    await client.post(attach, json={"file_id": file_id})
    while time.monotonic() - started < 120:
        got = (await client.get(f"{attach}/{file_id}")).json()
        if got.get("status") == "completed":
            return round(time.monotonic() - started, 2)
        await asyncio.sleep(0.1)
    return "not completed within 120 s"


async def measure(base: str, clients: int, hold: float) -> dict[str, object]:
    auth = {"authorization": f"Bearer {OTHER_KEY}"}
    async with httpx.AsyncClient(base_url=base, headers=auth, timeout=60) as client:
        store = (await client.post("/v1/vector_stores", json={})).json()["id"]
        baseline = await _ingest_one(client, store)
        slow = [asyncio.create_task(trickle(base, hold)) for _ in range(clients)]
        result = await other_project(client, store, hold)
        await asyncio.gather(*slow, return_exceptions=True)
        after = await _ingest_one(client, store)
        ready = await _ready(client)
        result |= {"file_alone_s": baseline, "file_after_s": after, "ready_after": ready}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--hold", type=float, default=30.0)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="maia-slow-") as tmp:
        keys = f"slow:{SLOW_KEY},other:{OTHER_KEY}"
        with maia_server(
            Path(tmp),
            MAIA_DATA_DIR=str(Path(tmp) / "data"),
            MAIA_API_KEYS=keys,
            EMBEDDING_PROVIDER="hash",
            LOG_LEVEL="WARNING",
        ) as server:
            result = asyncio.run(measure(server.base_url, opts.clients, opts.hold))
    print(f"{opts.clients} slow uploads held {opts.hold:.0f} s, at {revision()}:")
    for name, value in result.items():
        print(f"  {name}: {value}")
    print(machine())


if __name__ == "__main__":
    main()
