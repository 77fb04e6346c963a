"""`maia-vectordb serve | worker | migrate | keys`: the one entry point users run."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from maia_vectordb import __version__
from maia_vectordb.cli import ingest as ingest_cli
from maia_vectordb.cli import keys as keys_cli
from maia_vectordb.cli import search as search_cli
from maia_vectordb.cli import serve as serve_cli
from maia_vectordb.cli.common import describe, load_settings, migrated_database
from maia_vectordb.config import Settings
from maia_vectordb.db.bootstrap import DatabaseUnavailable
from maia_vectordb.db.embedded import EmbeddedDatabaseError
from maia_vectordb.embeddings import ModelFilesUnavailable
from maia_vectordb.errors import MaiaError
from maia_vectordb.logging_setup import configure_logging

log = logging.getLogger("maia_vectordb")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="maia-vectordb", description=__doc__)
    parser.add_argument("--version", action="version", version=f"maia-vectordb {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_cli.add_parsers(sub)
    sub.add_parser("migrate", help="upgrade the database schema to the latest revision")
    keys_cli.add_parser(sub)
    ingest_cli.add_parser(sub)
    search_cli.add_parser(sub)
    return parser


async def _migrate(settings: Settings) -> None:
    async with migrated_database(settings):
        log.info("migrate: schema is at head")


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    if args.command in ("serve", "worker"):
        describe(settings)
    try:
        if args.command == "serve":
            serve_cli.serve(settings, args)
        elif args.command == "worker":
            asyncio.run(serve_cli.worker(settings, args))
        elif args.command == "migrate":
            asyncio.run(_migrate(settings))
        elif args.command == "keys":
            asyncio.run(keys_cli.run(settings, args))
        elif args.command == "ingest":
            sys.exit(asyncio.run(ingest_cli.run(settings, args)))
        elif args.command == "search":
            sys.exit(asyncio.run(search_cli.run(settings, args)))
    except (
        DatabaseUnavailable,
        EmbeddedDatabaseError,
        ModelFilesUnavailable,
        serve_cli.InsecureBinding,
    ) as exc:
        log.error("%s", exc)
        sys.exit(1)
    except MaiaError as exc:
        log.error("%s", exc.message)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
