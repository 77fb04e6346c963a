"""Run a parsed command: settings, logging, then the command, with faults as one line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from maia_vectordb.cli.common import describe, load_settings
from maia_vectordb.cli.serve import InsecureBinding
from maia_vectordb.config import Settings
from maia_vectordb.db.bootstrap import DatabaseUnavailable
from maia_vectordb.db.embedded import EmbeddedDatabaseError
from maia_vectordb.embeddings.model_files import ModelFilesUnavailable
from maia_vectordb.errors import MaiaError
from maia_vectordb.logging_setup import configure_logging

log = logging.getLogger("maia_vectordb")


def run(args: argparse.Namespace) -> None:
    settings = load_settings()
    configure_logging(settings.log.level, settings.log.format)
    if args.command in ("serve", "worker"):
        describe(settings)
    try:
        sys.exit(_dispatch(settings, args))
    except (
        DatabaseUnavailable,
        EmbeddedDatabaseError,
        ModelFilesUnavailable,
        InsecureBinding,
    ) as exc:
        log.error("%s", exc)
        sys.exit(1)
    except MaiaError as exc:
        log.error("%s", exc.message)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


def _dispatch(settings: Settings, args: argparse.Namespace) -> int:
    """The exit status; each branch imports only what its command uses."""
    if args.command == "serve":
        from maia_vectordb.cli import serve

        serve.serve(settings, args)
    elif args.command == "worker":
        from maia_vectordb.cli import serve

        asyncio.run(serve.worker(settings, args))
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
    elif args.command == "keys":
        from maia_vectordb.cli import keys

        asyncio.run(keys.run(settings, args))
    elif args.command == "ingest":
        from maia_vectordb.cli import ingest

        return asyncio.run(ingest.run(settings, args))
    elif args.command == "search":
        from maia_vectordb.cli import search

        return asyncio.run(search.run(settings, args))
    elif args.command == "stores":
        from maia_vectordb.cli import stores

        return asyncio.run(stores.run(settings, args))
    return 0


async def _migrate(settings: Settings) -> None:
    from maia_vectordb.runtime import open_database

    async with open_database(settings):
        log.info("migrate: schema is at head")
