"""How `ingest` and `search` reach a server: over HTTP, or in this process through ASGI.

Both paths hand back the official `AsyncOpenAI` client, so the commands exercise the
same wire API a remote user's program would, whichever way they are run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import AsyncIterator

import httpx2
import openai
from openai import AsyncOpenAI
from openai.types import VectorStore

from maia_vectordb.config import Settings

IN_PROCESS_URL = "http://localhost"
"""The app is called in-process; a keyless app answers only a loopback `Host`."""
KEYLESS = "unused"
"""The SDK insists on a key; a server without API keys ignores whatever is sent."""


class CliError(Exception):
    """A problem the user can fix, told in one line; exit 2 for usage, 1 otherwise."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def add_connection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help="a running server, e.g. http://127.0.0.1:8000/v1 "
        "(default: run the service in this process on DATABASE_URL or the embedded database)",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("MAIA_API_KEY"),
        metavar="KEY",
        help="the server's API key (default: MAIA_API_KEY; OPENAI_API_KEY is never sent)",
    )


@contextlib.asynccontextmanager
async def open_client(settings: Settings, args: argparse.Namespace) -> AsyncIterator[AsyncOpenAI]:
    """The remote server when `--base-url` is given, else the app itself with its workers."""
    key = args.api_key or KEYLESS
    if args.base_url:
        async with AsyncOpenAI(base_url=args.base_url, api_key=key, max_retries=2) as client:
            yield client
        return
    async with _in_process(settings, key) as client:
        yield client


@contextlib.asynccontextmanager
async def _in_process(settings: Settings, key: str) -> AsyncIterator[AsyncOpenAI]:
    """At least one ingestion worker runs here, or nothing would ever finish ingesting."""
    from maia_vectordb.app import create_app

    app = create_app(settings.replace(INGEST_WORKERS=max(settings.ingest.workers, 1)))
    async with app.router.lifespan_context(app):
        http = httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url=IN_PROCESS_URL, timeout=600
        )
        async with AsyncOpenAI(
            base_url=f"{IN_PROCESS_URL}/v1", api_key=key, http_client=http, max_retries=0
        ) as client:
            yield client


async def find_store(client: AsyncOpenAI, name_or_id: str) -> VectorStore | None:
    """An id when it is one, else the single store with exactly that name."""
    if name_or_id.startswith("vs_"):
        with contextlib.suppress(openai.NotFoundError):
            return await client.vector_stores.retrieve(name_or_id)
    matches = [s async for s in client.vector_stores.list(limit=100) if s.name == name_or_id]
    if len(matches) > 1:
        ids = ", ".join(s.id for s in matches)
        raise CliError(
            f"{len(matches)} vector stores are named {name_or_id!r} ({ids}); pass an id instead",
            exit_code=2,
        )
    return matches[0] if matches else None


def describe_api_error(exc: openai.OpenAIError, base_url: str | None) -> CliError:
    """One line a person can act on, instead of the SDK's traceback."""
    where = base_url or "the in-process service"
    if isinstance(exc, openai.APIConnectionError):
        return CliError(f"cannot reach {where}: {exc.__cause__ or exc}")
    if isinstance(exc, openai.AuthenticationError):
        return CliError(
            f"{where} rejected the API key ({error_message(exc)}); "
            "pass --api-key or set MAIA_API_KEY"
        )
    if isinstance(exc, openai.APIStatusError):
        code = 2 if isinstance(exc, openai.BadRequestError) else 1
        return CliError(f"{where} answered {exc.status_code}: {error_message(exc)}", exit_code=code)
    return CliError(f"{type(exc).__name__}: {exc}")


def error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return exc.message


def error_code(exc: openai.APIStatusError) -> str:
    code = exc.code if isinstance(exc.code, str) else None
    return code or exc.type or str(exc.status_code)
