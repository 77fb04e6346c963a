"""`maia-vectordb search STORE "query"`: the best chunks of a store, as a readable table."""

from __future__ import annotations

import argparse
import json
from typing import Any, cast

import openai
from openai import AsyncOpenAI
from openai.types.vector_store_search_params import Filters
from openai.types.vector_store_search_response import VectorStoreSearchResponse
from rich.console import Console
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

SNIPPET_CHARS = 120
MODES = ("vector", "keyword", "hybrid")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("search", help="search a vector store", description=__doc__)
    parser.add_argument("store", metavar="STORE", help="vector store name or id")
    parser.add_argument("query", help="what to look for")
    parser.add_argument(
        "--filter",
        dest="filters",
        type=_json_object,
        default=None,
        metavar="JSON",
        help='attribute filter, e.g. \'{"type": "eq", "key": "team", "value": "hr"}\'',
    )
    parser.add_argument(
        "-k", type=_result_count, default=10, metavar="N", help="results to show (1..50)"
    )
    parser.add_argument("--mode", choices=MODES, default=None, help="default: the server's")
    add_json_flag(parser)
    add_connection_args(parser)


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("the filter must be a JSON object")
    return value


def _result_count(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 50:
        raise argparse.ArgumentTypeError("must be between 1 and 50")
    return value


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """0 with results or none, 2 for an unknown store or a filter the server rejects."""
    try:
        with quiet_logs():
            async with open_client(settings, args) as client:
                hits = await _search(client, args)
    except openai.OpenAIError as exc:
        return _fail(describe_api_error(exc, args.base_url))
    except CliError as exc:
        return _fail(exc)
    if args.json:
        print_json({"query": args.query, "data": [hit.model_dump(mode="json") for hit in hits]})
    else:
        Console().print(results_table(args.query, hits))
    return 0


def _fail(error: CliError) -> int:
    print_error(error.message)
    return error.exit_code


async def _search(client: AsyncOpenAI, args: argparse.Namespace) -> list[VectorStoreSearchResponse]:
    store = await find_store(client, args.store)
    if store is None:
        raise CliError(f"no vector store is named {args.store!r} or has that id", exit_code=2)
    page = await client.vector_stores.search(
        store.id,
        query=args.query,
        max_num_results=args.k,
        filters=cast(Filters, args.filters) if args.filters else openai.omit,
        extra_body={"search_mode": args.mode} if args.mode else None,
    )
    return page.data


def results_table(query: str, hits: list[VectorStoreSearchResponse]) -> Table:
    noun = "result" if len(hits) == 1 else "results"
    table = Table(title=f"{len(hits)} {noun} for {query!r}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("file", no_wrap=True)
    table.add_column("snippet", overflow="fold")
    for rank, hit in enumerate(hits, start=1):
        table.add_row(str(rank), f"{hit.score:.3f}", hit.filename, snippet(hit))
    return table


def snippet(hit: VectorStoreSearchResponse) -> str:
    """Whitespace collapsed, so a chunk's line breaks do not stretch the table."""
    text = " ".join(" ".join(part.text for part in hit.content).split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"
