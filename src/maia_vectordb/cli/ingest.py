"""`maia-vectordb ingest PATH... --store NAME`: put a folder of documents into a vector store.

Re-running is cheap: files already attached with the same content are skipped, and a
changed file replaces its old attachment once the new one has completed.
"""

from __future__ import annotations

import argparse
import asyncio
import re

import openai
from openai import AsyncOpenAI
from openai.types import FileChunkingStrategyParam
from rich.console import Console

from maia_vectordb.cli.connect import (
    CliError,
    add_connection_args,
    describe_api_error,
    find_store,
    open_client,
)
from maia_vectordb.cli.ingest_batches import (
    AttributeValue,
    Options,
    Run,
    detach_stale,
    retag,
    send,
)
from maia_vectordb.cli.ingest_batches import outcomes as collect_outcomes
from maia_vectordb.cli.ingest_batches import wait as wait_for_ingestion
from maia_vectordb.cli.ingest_plan import (
    HASH_ATTR,
    PATH_ATTR,
    Outcome,
    Plan,
    attached_by_path,
    make_plan,
)
from maia_vectordb.cli.ingest_preview import Preview, preview, preview_json, render_preview
from maia_vectordb.cli.ingest_report import (
    IngestProgress,
    Summary,
    render_summary,
    summary_json,
)
from maia_vectordb.cli.output import add_json_flag, print_error, print_json
from maia_vectordb.cli.quiet import quiet_logs
from maia_vectordb.cli.walk import Collected, collect
from maia_vectordb.config import Settings

JSON_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")
MAX_USER_ATTRIBUTES = 14
"""16 per attachment, less the two `ingest` keeps for itself."""
MAX_VALUE_CHARS = 512


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "ingest",
        help="upload files and folders into a vector store and wait for ingestion",
        description=__doc__,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders (recursive)")
    parser.add_argument("--store", required=True, metavar="NAME_OR_ID", help="created if new")
    parser.add_argument(
        "--attr",
        action="append",
        default=[],
        type=parse_attribute,
        metavar="KEY=VALUE",
        help="attribute on every file (numbers and true/false are typed), repeatable",
    )
    parser.add_argument(
        "--chunk-size", type=int, metavar="N", help="static chunks of N tokens (100..4096)"
    )
    parser.add_argument(
        "--chunk-overlap", type=int, metavar="M", help="tokens shared by neighbouring chunks"
    )
    parser.add_argument(
        "--concurrency", type=_concurrency, default=4, metavar="N", help="parallel uploads (4)"
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="leave out files and folders matching this glob, by name (*.png) or by path "
        "below the ingested folder (drafts/*), repeatable",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="show what would be uploaded, replaced, deleted and re-tagged; change nothing",
    )
    add_json_flag(parser)
    add_connection_args(parser)


def parse_attribute(text: str) -> tuple[str, AttributeValue]:
    """`key=value`, the value typed as JSON would type it, so filters can compare numbers."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    if len(raw) > MAX_VALUE_CHARS:
        raise argparse.ArgumentTypeError(f"the value of {key!r} exceeds {MAX_VALUE_CHARS} chars")
    if raw.lower() in ("true", "false"):
        return key, raw.lower() == "true"
    if JSON_NUMBER.fullmatch(raw):
        number = float(raw)
        return key, int(raw) if raw.lstrip("-").isdigit() else number
    return key, raw


def _concurrency(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError("must be between 1 and 64")
    return value


def parse_options(args: argparse.Namespace) -> Options:
    attributes = dict(args.attr)
    reserved = {PATH_ATTR, HASH_ATTR} & attributes.keys()
    if reserved:
        raise CliError(f"--attr {', '.join(sorted(reserved))} is set by ingest itself", exit_code=2)
    if len(attributes) > MAX_USER_ATTRIBUTES:
        raise CliError(f"at most {MAX_USER_ATTRIBUTES} --attr keys are allowed", exit_code=2)
    return Options(attributes, _chunking(args.chunk_size, args.chunk_overlap), args.concurrency)


def _chunking(size: int | None, overlap: int | None) -> FileChunkingStrategyParam:
    """`auto` unless a size is given; the overlap then defaults to OpenAI's ratio, half."""
    if size is None:
        if overlap is not None:
            raise CliError("--chunk-overlap needs --chunk-size", exit_code=2)
        return {"type": "auto"}
    overlap = size // 2 if overlap is None else overlap
    if not 100 <= size <= 4096:
        raise CliError("--chunk-size must be between 100 and 4096 tokens", exit_code=2)
    if not 0 <= overlap <= size // 2:
        raise CliError("--chunk-overlap must be between 0 and half of --chunk-size", exit_code=2)
    return {
        "type": "static",
        "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap},
    }


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """0 when every file completed or was unchanged, 1 when any failed, 2 for usage errors."""
    try:
        options = parse_options(args)
        collected = await asyncio.to_thread(collect, args.paths, args.exclude)
        with quiet_logs():
            async with open_client(settings, args) as client:
                if args.dry_run:
                    return _show_preview(
                        args, await preview(client, args.store, options.attributes, collected)
                    )
                summary = await _ingest(client, args.store, options, collected)
    except openai.OpenAIError as exc:
        return _fail(describe_api_error(exc, args.base_url))
    except CliError as exc:
        return _fail(exc)
    if args.json:
        print_json(summary_json(summary))
    else:
        render_summary(Console(), summary)
    return 0 if all(o.status == "completed" for o in summary.outcomes) else 1


def _show_preview(args: argparse.Namespace, view: Preview) -> int:
    if args.json:
        print_json(preview_json(view))
    else:
        render_preview(Console(), view)
    return 0


def _fail(error: CliError) -> int:
    print_error(error.message)
    return error.exit_code


async def _ingest(
    client: AsyncOpenAI, name_or_id: str, options: Options, collected: Collected
) -> Summary:
    store = await find_store(client, name_or_id)
    if store is None:
        store = await client.vector_stores.create(name=name_or_id)
    attached = await attached_by_path(client, store.id)
    plan = await make_plan(collected.files, attached, options.attributes)
    await retag(client, store.id, plan.retag, dict(options.attributes))
    console = Console(stderr=True)
    console.print(
        f"{store.name} ({store.id}): {len(collected.files)} file(s), "
        f"{len(plan.skipped)} unchanged, {len(plan.pending)} to upload",
        highlight=False,
    )
    results = list(plan.unreadable)
    if plan.pending:
        results += await _upload_and_wait(client, store.id, options, plan, console)
    replaced = await detach_stale(client, store.id, plan.pending, results)
    usage = (await client.vector_stores.retrieve(store.id)).usage_bytes
    return Summary(
        store.id,
        store.name,
        results,
        len(plan.skipped),
        replaced,
        collected.ignored,
        collected.excluded,
        usage,
    )


async def _upload_and_wait(
    client: AsyncOpenAI, store_id: str, options: Options, plan: Plan, console: Console
) -> list[Outcome]:
    total = sum(item.local.size for item in plan.pending)
    with IngestProgress(console, files=len(plan.pending), total_bytes=total) as bars:
        state = Run(client, store_id, options, bars)
        await send(state, plan.pending)
        await wait_for_ingestion(state)
    return await collect_outcomes(state)
