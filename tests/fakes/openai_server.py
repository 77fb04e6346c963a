"""A stand-in for OpenAI's `POST /v1/embeddings`, over real HTTP, with scripted faults.

Vectors are `hash_embed(text, dimensions)` rounded to float32, so tests can predict them
and both encodings decode to identical values.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from maia_vectordb.embeddings.hash import hash_embed

NATIVE_DIMENSIONS = 1536
# The SDK ignores a Retry-After of 0 and backs off ~0.5 s itself; a tiny positive one is fast.
FAST_RETRY_AFTER = "0.001"
ERROR_TYPES = {401: "invalid_request_error", 429: "requests", 500: "server_error"}

Delay = float | Callable[[Sequence[str]], float]


def expected_vector(text: str, dimensions: int = NATIVE_DIMENSIONS) -> list[float]:
    """What the fake returns for `text`: the local hash vector, as float32 like OpenAI's."""
    vector = hash_embed(text, dimensions)
    return list(struct.unpack(f"<{dimensions}f", struct.pack(f"<{dimensions}f", *vector)))


def _base64(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it (every attempt, retries included)."""

    inputs: list[str]
    model: str
    dimensions: int | None
    encoding_format: str | None
    authorization: str | None

    @property
    def input_count(self) -> int:
        return len(self.inputs)


@dataclass(frozen=True)
class Fault:
    status: int
    retry_after: str | None
    message: str | None
    headers: tuple[tuple[str, str], ...] = ()


class FakeOpenAIServer:
    """Start with `running_fake_openai()`; point `AsyncOpenAI(base_url=server.base_url)` at it.

    Knobs, reset by `reset()`: `delay` (seconds, or a function of the inputs),
    `force_encoding` ("float" to ignore the client's base64 request, like some compatible
    servers), `force_body` (sent as a 200 instead of the embeddings, to play a broken
    server), `fail_next(...)`, `fail_always(...)`, `hold()` until `release()`.
    """

    def __init__(self, *, native_dimensions: int = NATIVE_DIMENSIONS) -> None:
        self.native_dimensions = native_dimensions
        self.requests: list[RecordedRequest] = []
        self.delay: Delay = 0.0
        self.force_encoding: str | None = None
        self.force_body: str | None = None
        self.max_in_flight = 0
        self._in_flight = 0
        self._faults: deque[Fault] = deque()
        self._always: Fault | None = None
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._released.set()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: str | None = FAST_RETRY_AFTER,
        message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests with an OpenAI error envelope."""
        fault = Fault(status, retry_after, message, tuple((headers or {}).items()))
        with self._lock:
            self._faults.extend([fault] * times)

    def fail_always(
        self,
        status: int,
        *,
        retry_after: str | None = FAST_RETRY_AFTER,
        message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer every request (after any `fail_next` ones) with this error until reset."""
        with self._lock:
            self._always = Fault(status, retry_after, message, tuple((headers or {}).items()))

    def hold(self) -> None:
        """Keep every embeddings request waiting (after it is recorded) until `release()`."""
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def reset(self, *, idle_within: float = 5.0) -> None:
        """Forget requests and faults, after waiting out requests a timed-out client left behind."""
        self.release()
        deadline = time.monotonic() + idle_within
        while self._in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        with self._lock:
            self.requests.clear()
            self._faults.clear()
            self._always = None
            self.delay = 0.0
            self.force_encoding = None
            self.force_body = None
            self.max_in_flight = 0

    def start(self) -> None:
        """Serve from a background thread; returns once the socket accepts connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        app = Starlette(routes=[Route("/v1/embeddings", self._embeddings, methods=["POST"])])
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", ws="none", http="h11"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="fake-openai", daemon=True
        )
        thread.start()
        self._server, self._thread = server, thread
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake OpenAI server did not start")
            time.sleep(0.005)

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)

    async def _embeddings(self, request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        authorization = request.headers.get("authorization")
        recorded = _record(body, authorization)
        self.requests.append(recorded)
        inputs = recorded.inputs
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            await asyncio.to_thread(self._released.wait)  # set from the tests' own thread
            await asyncio.sleep(self.delay(inputs) if callable(self.delay) else self.delay)
            fault = self._next_fault()
            if fault is not None:
                return _error(fault, authorization)
            if self.force_body is not None:
                return Response(self.force_body, media_type="application/json")
            return JSONResponse(self._payload(body, inputs))
        finally:
            self._in_flight -= 1

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else self._always

    def _payload(self, body: dict[str, Any], inputs: list[str]) -> dict[str, Any]:
        dimensions = body.get("dimensions") or self.native_dimensions
        encoding = self.force_encoding or body.get("encoding_format") or "float"
        data = []
        for index, text in enumerate(inputs):
            vector = expected_vector(text, dimensions)
            embedding = _base64(vector) if encoding == "base64" else vector
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = sum(len(text.split()) for text in inputs)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return {"object": "list", "data": data, "model": body.get("model"), "usage": usage}


def _record(body: dict[str, Any], authorization: str | None) -> RecordedRequest:
    raw = body.get("input", [])
    return RecordedRequest(
        inputs=[raw] if isinstance(raw, str) else [str(item) for item in raw],
        model=body.get("model", ""),
        dimensions=body.get("dimensions"),
        encoding_format=body.get("encoding_format"),
        authorization=authorization,
    )


def _error(fault: Fault, authorization: str | None) -> JSONResponse:
    key = (authorization or "").removeprefix("Bearer ")
    # Echoes the key in full (OpenAI masks it) so tests prove the client redacts it.
    message = fault.message or (
        f"Incorrect API key provided: {key}." if fault.status == 401 else f"fake {fault.status}"
    )
    error = {"message": message, "type": ERROR_TYPES.get(fault.status), "param": None, "code": None}
    headers = dict(fault.headers)
    if fault.retry_after is not None:
        headers["retry-after"] = fault.retry_after
    return JSONResponse({"error": error}, status_code=fault.status, headers=headers)


@contextmanager
def running_fake_openai(
    *, native_dimensions: int = NATIVE_DIMENSIONS
) -> Iterator[FakeOpenAIServer]:
    """A started server on a free 127.0.0.1 port, stopped on exit."""
    server = FakeOpenAIServer(native_dimensions=native_dimensions)
    server.start()
    try:
        yield server
    finally:
        server.stop()
