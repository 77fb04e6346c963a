"""`POST /embeddings` to OpenAI or a compatible server, over pooled connections.

The openai SDK made these calls before. Measured against an instant server, it spent
about twice the CPU of the HTTP request itself on each call (request options, response
models), and every search whose query is not cached pays for one call; httpx alone still
cost ~1 ms more than `keepalive`, which now sends every request it can. This client
keeps what the SDK did for us: its retry rules and waits (`retry_policy`), a timeout
per attempt, the bearer key, redirects followed and proxies from the environment (both
through httpx), and failures sorted into retry-later (`TransientEmbeddingError`) and
give-up (`PermanentEmbeddingError`), with the key never in a message.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx2

from maia_vectordb import __version__
from maia_vectordb.embeddings.base import (
    EmbeddingError,
    PermanentEmbeddingError,
    TransientEmbeddingError,
)
from maia_vectordb.embeddings.keepalive import KeepAliveClient, Reply, Unreachable, direct_target
from maia_vectordb.embeddings.retry_policy import retry_delay, should_retry, status_is_retryable

# The SDK's pool: far more connections than EMBEDDING_CONCURRENCY ever opens.
LIMITS = httpx2.Limits(max_connections=1000, max_keepalive_connections=100)
SECRET_LIKE = re.compile(r"sk-[A-Za-z0-9_\-]{6,}")
# Keyless OpenAI-compatible servers still get a bearer value.
PLACEHOLDER_KEY = "unused"

JsonObject = dict[str, Any]


def redact(message: str, api_key: str | None) -> str:
    """Errors end up in logs and in a file's `last_error`, which API users can read."""
    if api_key:
        message = message.replace(api_key, "***")
    return SECRET_LIKE.sub("sk-***", message)


class EmbeddingsClient:
    """One per embedder; `create` sends one request body, retrying as the SDK would."""

    def __init__(
        self, *, base_url: str, api_key: str | None, model: str, timeout: float, max_retries: int
    ) -> None:
        self.model = model
        self.max_retries = max_retries
        self._url = base_url.rstrip("/") + "/embeddings"
        self._api_key = api_key
        headers = {
            "authorization": f"Bearer {api_key or PLACEHOLDER_KEY}",
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": f"maia-vectordb/{__version__}",
        }
        self._http = httpx2.AsyncClient(
            headers=headers, timeout=timeout, limits=LIMITS, follow_redirects=True
        )
        self._direct = _direct_client(self._url, headers, timeout)

    async def aclose(self) -> None:
        if self._direct is not None:
            await self._direct.aclose()
        await self._http.aclose()

    async def create(self, payload: JsonObject) -> JsonObject:
        """The decoded JSON body of a successful response."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        retries = 0
        while True:
            try:
                response = await self._send(body)
            except (httpx2.HTTPError, Unreachable) as exc:
                if retries >= self.max_retries:
                    raise self._connection_error(exc) from None
                await asyncio.sleep(retry_delay(retries))
            else:
                if response.is_success:
                    return self._json(response)
                if retries >= self.max_retries or not should_retry(
                    response.status_code, response.headers
                ):
                    raise self._status_error(response)
                await asyncio.sleep(retry_delay(retries, response.headers))
            retries += 1

    async def _send(self, body: bytes) -> Reply:
        """Through `keepalive` when it can reach the URL; a redirect, or a URL behind a
        proxy, goes through httpx, which follows and proxies as the SDK did."""
        if self._direct is not None:
            reply = await self._direct.post(body)
            if not reply.is_redirect:
                return reply
            # The URL redirects: httpx follows it, now and from here on, rather than
            # every call reaching the redirecting server twice.
            direct, self._direct = self._direct, None
            await direct.aclose()
        response = await self._http.post(self._url, content=body)
        return Reply(response.status_code, response.headers, response.content)

    def _json(self, response: Reply) -> JsonObject:
        try:
            decoded = json.loads(response.content)
        except ValueError:
            raise self._unusable("the body is not JSON") from None
        if not isinstance(decoded, dict):
            raise self._unusable(f"expected a JSON object, got {type(decoded).__name__}")
        return decoded

    def _connection_error(self, exc: httpx2.HTTPError | Unreachable) -> TransientEmbeddingError:
        timed_out = isinstance(exc, httpx2.TimeoutException) or getattr(exc, "timed_out", False)
        reason = "timed out" if timed_out else "could not connect"
        return TransientEmbeddingError(f"embedding request for model {self.model} {reason}")

    def _status_error(self, response: Reply) -> EmbeddingError:
        status = response.status_code
        message = redact(
            f"embedding request for model {self.model} failed with HTTP {status}: "
            f"{error_detail(response)}",
            self._api_key,
        )
        kind = TransientEmbeddingError if status_is_retryable(status) else PermanentEmbeddingError
        return kind(message, status_code=status)

    def _unusable(self, why: str) -> PermanentEmbeddingError:
        return PermanentEmbeddingError(
            redact(f"the embedding server sent an unusable response: {why}", self._api_key)
        )


def error_detail(response: Reply) -> str:
    """The error envelope's `message` (`{"error": {"message": ...}}` or a top-level one),
    else the status alone, as the SDK reports it."""
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if isinstance(message, str) and message:
        return message
    return f"Error code: {response.status_code}"


def _direct_client(url: str, headers: dict[str, str], timeout: float) -> KeepAliveClient | None:
    """httpx's own TLS settings (certificates, `SSL_CERT_FILE`), so trust is unchanged."""
    target = direct_target(url)
    if target is None:
        return None
    tls = httpx2.create_ssl_context() if target.scheme == "https" else None
    return KeepAliveClient(target, headers, timeout=timeout, tls=tls)
