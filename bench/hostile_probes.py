"""Issue 12's probe classes, re-run against live servers: each prints what it got.

A keyed server (two projects) answers the input, body, parser, batch, list and
expiry probes; an open-mode server answers the `Host` / `Origin` probes; three
concurrent `migrate` runs share one fresh data directory. A probe passes when
the answer is what issue 12 asks for (a 4xx naming the param, never a 500).

    uv run --frozen python bench/hostile_probes.py
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from harness import BENCH_DIR, log, machine, maia_server, revision, server_env

sys.path.insert(0, str(BENCH_DIR.parent))
from tests.fakes.documents import make_docx_bomb, make_pdf_shared_tree

KEY_A = "sk-bench-probe-alpha-000001"
KEY_B = "sk-bench-probe-beta-0000001"
Result = tuple[bool, str]


def _param(r: httpx.Response) -> str:
    try:
        error = r.json().get("error") or {}
    except ValueError:
        return "-"
    return str(error.get("param"))


def _is_400(r: httpx.Response, param: str | None = None) -> Result:
    ok = r.status_code == 400 and (param is None or param in _param(r))
    return ok, f"{r.status_code} param={_param(r)}"


def _is_4xx(r: httpx.Response) -> Result:
    return 400 <= r.status_code < 500, f"{r.status_code} param={_param(r)}"


class Probes:
    """The keyed server's probes; each returns (passed, what was seen)."""

    def __init__(self, client: httpx.AsyncClient, pgdata: Path, pid: int) -> None:
        self.c = client
        self.pgdata = pgdata
        self.pid = pid
        self.store = ""
        self.file = ""

    async def setup(self) -> None:
        self.store = (await self.c.post("/v1/vector_stores", json={"name": "p"})).json()["id"]
        self.file = await self.upload("river stone lantern " * 50, "a.txt")

    async def upload(self, text: str | bytes, name: str) -> str:
        body = text.encode() if isinstance(text, str) else text
        r = await self.c.post(
            "/v1/files", files={"file": (name, body)}, data={"purpose": "assistants"}
        )
        return str(r.json()["id"])

    async def raw(self, method: str, path: str, body: str) -> httpx.Response:
        headers = {"content-type": "application/json"}
        return await self.c.request(method, path, content=body.encode(), headers=headers)

    async def attach_and_wait(self, file_id: str, **extra: Any) -> dict[str, Any]:
        path = f"/v1/vector_stores/{self.store}/files"
        await self.c.post(path, json={"file_id": file_id, **extra})
        for _ in range(600):
            got = (await self.c.get(f"{path}/{file_id}")).json()
            if got["status"] != "in_progress":
                return dict(got)
            await asyncio.sleep(0.1)
        return dict(got)

    # --- NUL bytes -------------------------------------------------------------
    async def nul_in_id(self) -> Result:
        return _is_4xx(await self.c.get("/v1/files/file-%00abc"))

    async def nul_in_cursor(self) -> Result:
        return _is_400(await self.c.get("/v1/files", params={"after": "a\x00b"}), "after")

    async def nul_in_path_segment(self) -> Result:
        return _is_4xx(await self.c.get(f"/v1/vector_stores/{self.store}/files/f%00x"))

    async def nul_in_filter_key(self) -> Result:
        body = {"query": "q", "filters": {"type": "eq", "key": "a\x00", "value": "x"}}
        return _is_400(await self.c.post(f"/v1/vector_stores/{self.store}/search", json=body))

    async def nul_in_filter_value(self) -> Result:
        body = {"query": "q", "filters": {"type": "eq", "key": "a", "value": "x\x00"}}
        return _is_400(await self.c.post(f"/v1/vector_stores/{self.store}/search", json=body))

    async def nul_in_purpose(self) -> Result:
        r = await self.c.post(
            "/v1/files", files={"file": ("a.txt", b"x")}, data={"purpose": "assis\x00tants"}
        )
        return _is_400(r, "purpose")

    # --- lone surrogates -----------------------------------------------------------
    async def surrogate_in_name(self) -> Result:
        return _is_400(await self.raw("POST", "/v1/vector_stores", '{"name": "a\\ud800"}'))

    async def surrogate_in_metadata(self) -> Result:
        body = '{"metadata": {"k": "\\udc00"}}'
        return _is_400(await self.raw("POST", "/v1/vector_stores", body))

    async def surrogate_in_attributes(self) -> Result:
        body = _with_attributes(self.file, '{"k": "\\ud800x"}')
        return _is_400(await self.raw("POST", f"/v1/vector_stores/{self.store}/files", body))

    async def surrogate_in_query(self) -> Result:
        body = '{"query": "\\ud83d"}'
        return _is_400(await self.raw("POST", f"/v1/vector_stores/{self.store}/search", body))

    # --- non-finite numbers --------------------------------------------------------
    async def nan_in_attributes(self) -> Result:
        body = _with_attributes(self.file, '{"k": NaN}')
        return _is_400(await self.raw("POST", f"/v1/vector_stores/{self.store}/files", body))

    async def infinity_in_filter(self) -> Result:
        body = '{"query": "q", "filters": {"type": "gt", "key": "k", "value": Infinity}}'
        return _is_400(await self.raw("POST", f"/v1/vector_stores/{self.store}/search", body))

    async def overflow_1e999_in_attributes(self) -> Result:
        body = _with_attributes(self.file, '{"k": 1e999}')
        return _is_400(await self.raw("POST", f"/v1/vector_stores/{self.store}/files", body))

    # --- multipart filenames --------------------------------------------------------
    async def filename_charset_escape(self) -> Result:
        seen = []
        ok = True
        for disposition in (
            "filename*=utf-8''na%C3%AFve.txt",
            "filename*=utf-8''%00.txt",
            "filename*=utf-8''%FF%FE.txt",
            "filename*=iso-8859-1''caf%E9.txt",
            "filename*=bogus''x.txt",
        ):
            r = await self._multipart_with(disposition)
            seen.append(f"{disposition.split('=')[1]}→{r.status_code}")
            ok = ok and r.status_code < 500
        return ok, ", ".join(seen)

    async def _multipart_with(self, disposition: str) -> httpx.Response:
        b = "bndry"
        body = (
            f'--{b}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nassistants\r\n'
            f'--{b}\r\nContent-Disposition: form-data; name="file"; {disposition}\r\n'
            f"Content-Type: text/plain\r\n\r\nhello\r\n--{b}--\r\n"
        ).encode()
        headers = {"content-type": f"multipart/form-data; boundary={b}"}
        return await self.c.post("/v1/files", content=body, headers=headers)

    # --- search parameters ----------------------------------------------------------
    async def max_num_results_true(self) -> Result:
        body = {"query": "q", "max_num_results": True}
        r = await self.c.post(f"/v1/vector_stores/{self.store}/search", json=body)
        return _is_400(r, "max_num_results")

    async def huge_filter(self) -> Result:
        clauses = [{"type": "eq", "key": f"k{i}", "value": i} for i in range(98_000)]
        body = {"query": "q", "filters": {"type": "or", "filters": clauses}}
        started = time.monotonic()
        search = asyncio.create_task(
            self.c.post(f"/v1/vector_stores/{self.store}/search", json=body)
        )
        health = await self._health_during(search)
        r = await search
        took = time.monotonic() - started
        ok, seen = _is_4xx(r)
        return ok and health < 1.0, f"{seen} in {took:.1f} s; /health at worst {health:.2f} s"

    async def _health_during(self, task: asyncio.Task[httpx.Response]) -> float:
        worst = 0.0
        while not task.done():
            started = time.monotonic()
            await self.c.get("/health")
            worst = max(worst, time.monotonic() - started)
            await asyncio.sleep(0.05)
        return worst

    # --- bodies --------------------------------------------------------------------
    async def unauthenticated_large_bodies(self) -> Result:
        seen = []
        ok = True
        before = _rss_mib(self.pid)
        for kind in ("multipart", "chunked", "json"):
            status, sent = await _unauth_stream(self.c.base_url, kind, 256 * 2**20)
            seen.append(f"{kind}: {status} after {sent / 2**20:.1f} MiB sent")
            ok = ok and status == 401
        grown = _rss_mib(self.pid) - before
        seen.append(f"RSS grew {grown:.0f} MiB")
        return ok and grown < 32, "; ".join(seen)

    async def chunked_over_limit_upload(self) -> Result:
        """MAX_UPLOAD_BYTES is 4 MiB on this server: how much is read before the 413?"""
        status, sent = await _unauth_stream(self.c.base_url, "chunked", 64 * 2**20, key=KEY_A)
        return status == 413 and sent < 12 * 2**20, f"{status} after {sent / 2**20:.1f} MiB sent"

    # --- parser bombs --------------------------------------------------------------
    async def docx_bomb(self) -> Result:
        file_id = await self.upload(make_docx_bomb(48_000_000), "bomb.docx")
        return self._failed_invalid(await self.attach_and_wait(file_id))

    async def pdf_shared_page_tree(self) -> Result:
        file_id = await self.upload(make_pdf_shared_tree(13), "tree.pdf")
        return self._failed_invalid(await self.attach_and_wait(file_id))

    async def deep_json(self) -> Result:
        file_id = await self.upload("[" * 100_000 + "]" * 100_000, "deep.json")
        started = time.monotonic()
        got = await self.attach_and_wait(file_id)
        ok, seen = self._failed_invalid(got)
        return ok, f"{seen} in {time.monotonic() - started:.1f} s"

    @staticmethod
    def _failed_invalid(got: dict[str, Any]) -> Result:
        error = got.get("last_error") or {}
        ok = got["status"] == "failed" and error.get("code") == "invalid_file"
        return ok, f"{got['status']} {error.get('code')}: {str(error.get('message'))[:90]}"

    # --- lists, attributes, batches, expiry -------------------------------------------
    async def before_cursor(self) -> Result:
        ids = [
            (await self.c.post("/v1/vector_stores", json={"name": f"l{i}"})).json()["id"]
            for i in range(5)
        ]
        listed = [s["id"] for s in (await self.c.get("/v1/vector_stores?limit=100")).json()["data"]]
        at = listed.index(ids[1])  # newest first: ids[4], ids[3], ids[2], ids[1] ...
        r = await self.c.get(f"/v1/vector_stores?limit=2&before={listed[at]}")
        got = [s["id"] for s in r.json()["data"]]
        want = listed[at - 2 : at]
        return got == want, f"before={listed[at][-6:]} gave {[g[-6:] for g in got]}"

    async def integer_attributes(self) -> Result:
        file_id = await self.upload("orbit velvet harbor " * 20, "int.txt")
        got = await self.attach_and_wait(file_id, attributes={"year": 2025, "r": 0.5})
        body = {"query": "orbit velvet", "filters": {"type": "eq", "key": "year", "value": 2025}}
        found = (await self.c.post(f"/v1/vector_stores/{self.store}/search", json=body)).json()
        listed = [d["attributes"] for d in found["data"]][:1]
        years = [got["attributes"]["year"], *(a["year"] for a in listed)]
        ok = len(years) == 2 and all(type(y) is int for y in years)
        return ok, f"file {json.dumps(got['attributes'])}; search {json.dumps(listed)}"

    async def cancel_finished_batch(self) -> Result:
        batch = await self._batch_done([await self.upload("quartz meadow " * 20, "b.txt")])
        path = f"/v1/vector_stores/{self.store}/file_batches/{batch['id']}"
        r = await self.c.post(f"{path}/cancel")
        after = (await self.c.get(path)).json()
        same = r.json().get("status") == batch["status"] == after["status"]
        return same and r.status_code < 500, f"{batch['status']} → cancel {r.status_code} " + (
            f"{r.json().get('status')}, then {after['status']} {after['file_counts']}"
        )

    async def resent_batch_file_ids(self) -> Result:
        files = [await self.upload(f"cipher falcon {i} " * 20, f"r{i}.txt") for i in range(2)]
        first = await self._batch_done(files)
        await self._batch_done(files)
        path = f"/v1/vector_stores/{self.store}/file_batches/{first['id']}"
        again = (await self.c.get(path)).json()
        members = (await self.c.get(f"{path}/files")).json()["data"]
        ok = again["file_counts"]["total"] == 2 and len(members) == 2
        return ok, f"first batch after re-send: {again['file_counts']}, {len(members)} listed"

    async def _batch_done(self, files: list[str]) -> dict[str, Any]:
        path = f"/v1/vector_stores/{self.store}/file_batches"
        batch = (await self.c.post(path, json={"file_ids": files})).json()
        for _ in range(300):
            batch = (await self.c.get(f"{path}/{batch['id']}")).json()
            if batch["status"] != "in_progress":
                break
            await asyncio.sleep(0.1)
        return dict(batch)

    async def reattach_supersedes(self) -> Result:
        """Detach, then re-attach with a new strategy while the first ingestion runs: the
        chunks must be the new strategy's (as many as a fresh attach elsewhere makes)."""
        text = " ".join(f"word{i % 997} lantern meadow" for i in range(60_000))
        file_id = await self.upload(text, "big.txt")
        path = f"/v1/vector_stores/{self.store}/files"
        small = {
            "type": "static",
            "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0},
        }
        await self.c.post(path, json={"file_id": file_id})
        await asyncio.sleep(0.3)
        await self.c.delete(f"{path}/{file_id}")
        got = await self.attach_and_wait(file_id, chunking_strategy=small)
        fresh = (await self.c.post("/v1/vector_stores", json={"name": "fresh"})).json()["id"]
        self.store, old = fresh, self.store
        await self.attach_and_wait(file_id, chunking_strategy=small)
        self.store = old
        counts = await self._chunk_counts(file_id, old, fresh)
        ok = got["status"] == "completed" and counts[0] == counts[1]
        return ok, f"{got['status']}; chunks after re-attach {counts[0]}, fresh attach {counts[1]}"

    async def _chunk_counts(self, file_id: str, *stores: str) -> list[int]:
        conn = await self._connect()
        try:
            sql = "SELECT count(*) FROM file_chunks WHERE vector_store_id = $1 AND file_id = $2"
            return [int(await conn.fetchval(sql, store, file_id)) for store in stores]
        finally:
            await conn.close()

    async def html_table_parse_time(self) -> Result:
        """A ~400 KiB HTML table took 17 s (quadratic insertion); now it should be linear."""
        rows = "".join(f"<tr><td>cell {i}</td><td>river {i}</td></tr>" for i in range(9_000))
        html = f"<html><body><table>{rows}</table></body></html>"
        file_id = await self.upload(html, "table.html")
        started = time.monotonic()
        got = await self.attach_and_wait(file_id)
        took = time.monotonic() - started
        return got[
            "status"
        ] == "completed", f"{len(html) // 1024} KiB: {got['status']} in {took:.1f} s"

    async def expired_file_in_search(self) -> Result:
        store = (await self.c.post("/v1/vector_stores", json={"name": "exp"})).json()["id"]
        file_id = await self.upload("ember tundra glacier " * 30, "exp.txt")
        self.store, old = store, self.store
        await self.attach_and_wait(file_id)
        self.store = old
        await self._expire(file_id)
        body = {"query": "ember tundra"}
        hits = (await self.c.post(f"/v1/vector_stores/{store}/search", json=body)).json()["data"]
        listed = (await self.c.get(f"/v1/vector_stores/{store}/files")).json()["data"]
        counts = (await self.c.get(f"/v1/vector_stores/{store}")).json()["file_counts"]
        ok = not hits and not listed and counts["total"] == 0
        return ok, f"hits {len(hits)}, listed {len(listed)}, file_counts.total {counts['total']}"

    async def _connect(self) -> asyncpg.Connection:
        lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        return await asyncpg.connect(host=lines[4], port=int(lines[3]), user="postgres")

    async def _expire(self, file_id: str) -> None:
        conn = await self._connect()
        try:
            sql = "UPDATE files SET expires_at = now() - interval '1 second' WHERE id = $1"
            await conn.execute(sql, file_id)
        finally:
            await conn.close()


def _with_attributes(file_id: str, attributes: str) -> str:
    """An attach body with `attributes` as raw JSON text (NaN and 1e999 are not JSON)."""
    return '{"file_id": "' + file_id + '", "attributes": ' + attributes + "}"


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _unauth_stream(
    base: httpx.URL, kind: str, size: int, *, key: str | None = None
) -> tuple[int, int]:
    """Stream up to `size` bytes as `kind`; the status and how much was sent before it."""
    reader, writer = await asyncio.open_connection(base.host, base.port)
    path = "/v1/files" if key else "/v1/vector_stores"
    head = f"POST {path} HTTP/1.1\r\nHost: {base.host}:{base.port}\r\n"
    if key:
        head += f"Authorization: Bearer {key}\r\n"
    ctype = "application/json" if kind == "json" else "multipart/form-data; boundary=zz"
    head += f"Content-Type: {ctype}\r\n"
    head += "Transfer-Encoding: chunked\r\n" if kind == "chunked" else f"Content-Length: {size}\r\n"
    writer.write((head + "\r\n").encode())
    if key:
        writer.write(_framed(b'--zz\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n'))
        part = b'assistants\r\n--zz\r\nContent-Disposition: form-data; name="file"; '
        writer.write(_framed(part + b'filename="big.txt"\r\n\r\n'))
    piece = b"x" * 65536
    sent = 0
    status_task = asyncio.create_task(reader.readline())
    while sent < size and not status_task.done():
        try:
            writer.write(_framed(piece) if kind == "chunked" else piece)
            await asyncio.wait_for(writer.drain(), 5)
        except (ConnectionError, TimeoutError):
            break
        sent += len(piece)
    try:
        line = await asyncio.wait_for(status_task, 10)
    except TimeoutError:
        line = b""
    writer.close()
    return (int(line.split()[1]) if line else 0), sent


def _framed(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


# --- open mode ------------------------------------------------------------------------


async def open_mode_probes(base: str) -> list[tuple[str, Result]]:
    """(name, headers, statuses that pass): foreign Host and cross-site Origin refused."""
    cases = [
        ("Host attacker.example", {"host": "attacker.example"}, (400, 403, 421)),
        ("Host localhost", {"host": "localhost"}, (200,)),
        ("cross-site Origin upload", {"origin": "http://evil.example"}, (403,)),
        ("same-origin upload", {"origin": base}, (200,)),
    ]
    results: list[tuple[str, Result]] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        for name, headers, passing in cases:
            if "upload" in name:
                files = {"file": ("x.txt", b"hello")}
                data = {"purpose": "assistants"}
                r = await c.post("/v1/files", files=files, data=data, headers=headers)
            else:
                r = await c.get("/v1/files", headers=headers)
            results.append((f"open mode: {name}", (r.status_code in passing, f"{r.status_code}")))
    return results


# --- migrate ---------------------------------------------------------------------------


def concurrent_migrate(workdir: Path) -> Result:
    env = server_env(MAIA_DATA_DIR=str(workdir / "mig-data"), EMBEDDING_PROVIDER="hash")
    args = [sys.executable, "-m", "maia_vectordb", "migrate"]
    pipe = subprocess.PIPE
    procs = [subprocess.Popen(args, env=env, cwd=workdir, stdout=pipe, stderr=pipe) for _ in "abc"]
    outs = [p.communicate(timeout=300)[1].decode(errors="replace") for p in procs]
    codes = [p.returncode for p in procs]
    bad = [o.strip().splitlines()[-1][:160] for o, c in zip(outs, codes, strict=True) if c and o]
    return all(c == 0 for c in codes), f"exit codes {codes} {bad}"


async def keyed_probes(base: str, pgdata: Path, pid: int) -> list[tuple[str, Result]]:
    auth = {"authorization": f"Bearer {KEY_A}"}
    async with httpx.AsyncClient(base_url=base, headers=auth, timeout=120) as client:
        probes = Probes(client, pgdata, pid)
        await probes.setup()
        names = [n for n in vars(Probes) if not n.startswith("_") and n not in _HELPERS]
        results = []
        for name in names:
            method: Callable[[], Awaitable[Result]] = getattr(probes, name)
            log(f"probe {name}")
            try:
                results.append((name, await method()))
            except Exception as exc:  # a probe that breaks is a finding
                results.append((name, (False, f"probe raised {exc!r}"[:200])))
        return results


_HELPERS = {"setup", "upload", "raw", "attach_and_wait"}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="maia-probes-") as tmp:
        root = Path(tmp)
        results = [("three concurrent migrate", concurrent_migrate(root))]
        keyed = {
            "MAIA_DATA_DIR": str(root / "keyed"),
            "MAIA_API_KEYS": f"alpha:{KEY_A},beta:{KEY_B}",
            "MAX_UPLOAD_BYTES": str(4 * 2**20),
            "EMBEDDING_PROVIDER": "hash",
            "LOG_LEVEL": "WARNING",
        }
        with maia_server(root, **keyed) as server:
            pgdata = root / "keyed" / "pgdata"
            results += asyncio.run(keyed_probes(server.base_url, pgdata, server.pid))
        opened = {"MAIA_DATA_DIR": str(root / "open"), "EMBEDDING_PROVIDER": "hash"}
        with maia_server(root, **opened) as server:
            results += asyncio.run(open_mode_probes(server.base_url))
    print(f"issue 12 probes at {revision()}:")
    for name, (ok, seen) in results:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {seen}")
    print(f"  {sum(ok for _, (ok, _) in results)}/{len(results)} pass")
    print(machine())


if __name__ == "__main__":
    socket.setdefaulttimeout(300)
    main()
