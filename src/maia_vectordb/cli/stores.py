"""`maia-vectordb stores list | delete STORE`: see and remove vector stores.

Like `ingest` and `search`, these go through the API: in this process by default, or to
a running server with `--base-url`.
"""

from __future__ import annotations

import argparse
import contextlib

import openai
from openai import AsyncOpenAI
from openai.types import VectorStore
from rich.console import Console
from rich.filesize import decimal
from rich.table import Table

from maia_vectordb.cli.connect import (
    CliError,
    add_connection_args,
    describe_api_error,
    find_store,
    open_client,
)
from maia_vectordb.cli.output import add_json_flag, print_error, print_json
from maia_vectordb.cli.quiet import quiet_logs
from maia_vectordb.config import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("stores", help="list and delete vector stores", description=__doc__)
    actions = parser.add_subparsers(dest="stores_command", required=True)
    listing = actions.add_parser("list", help="every store: id, name, files, bytes in use")
    add_json_flag(listing)
    add_connection_args(listing)
    delete = actions.add_parser("delete", help="delete a store by name or id")
    delete.add_argument("store", metavar="STORE", help="vector store name or id")
    delete.add_argument(
        "--with-files",
        action="store_true",
        help="also delete the Files attached to it (they leave any other store too)",
    )
    add_json_flag(delete)
    add_connection_args(delete)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """0 on success, 2 for an unknown store, 1 when the server fails."""
    try:
        with quiet_logs():
            async with open_client(settings, args) as client:
                if args.stores_command == "list":
                    _show([s async for s in client.vector_stores.list(limit=100)], args.json)
                else:
                    await _delete(client, args)
    except openai.OpenAIError as exc:
        return _fail(describe_api_error(exc, args.base_url))
    except CliError as exc:
        return _fail(exc)
    return 0


def _fail(error: CliError) -> int:
    print_error(error.message)
    return error.exit_code


def _show(stores: list[VectorStore], as_json: bool) -> None:
    if as_json:
        print_json([store.model_dump(mode="json") for store in stores])
        return
    table = Table(title=f"{len(stores)} vector store(s)", title_justify="left")
    for column in ("id", "name", "files", "failed", "in use", "status"):
        table.add_column(column, no_wrap=column == "id")
    for store in stores:
        counts = store.file_counts
        table.add_row(
            store.id,
            store.name,
            str(counts.total),
            str(counts.failed),
            decimal(store.usage_bytes),
            store.status,
        )
    Console().print(table)


async def _delete(client: AsyncOpenAI, args: argparse.Namespace) -> None:
    store = await find_store(client, args.store)
    if store is None:
        raise CliError(f"no vector store is named {args.store!r} or has that id", exit_code=2)
    file_ids = (
        [f.id async for f in client.vector_stores.files.list(store.id, limit=100)]
        if args.with_files
        else []
    )
    await client.vector_stores.delete(store.id)
    for file_id in file_ids:
        with contextlib.suppress(openai.NotFoundError):
            await client.files.delete(file_id)
    if args.json:
        print_json({"id": store.id, "name": store.name, "deleted": True, "files_deleted": file_ids})
    else:
        print(f"deleted {store.name} ({store.id}) and {len(file_ids)} file(s)")
