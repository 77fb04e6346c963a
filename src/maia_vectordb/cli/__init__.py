"""`maia-vectordb serve | worker | migrate | keys | ingest | search | stores`: the one entry point.

Only the chosen command's module is imported, and only once its arguments parse:
`--help` and typos answer at once, without loading the web, database and embedding stacks.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, cast

COMMANDS: dict[str, tuple[str | None, str]] = {
    "serve": ("serve", "run the HTTP API (and ingestion workers)"),
    "worker": ("serve", "run ingestion workers only (no HTTP)"),
    "migrate": (None, "upgrade the database schema to the latest revision"),
    "keys": ("keys", "create, list and revoke API keys"),
    "ingest": ("ingest", "upload files and folders into a vector store and wait for ingestion"),
    "search": ("search", "search a vector store"),
    "stores": ("stores", "list and delete vector stores"),
}
"""Command → (module under maia_vectordb.cli that defines its options, one-line help)."""


class _VersionAction(argparse.Action):
    """`--version`, reading the installed version only when asked (it costs ~0.1 s)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        from maia_vectordb import __version__

        print(f"maia-vectordb {__version__}")
        parser.exit()


class _Options(Protocol):
    def add_parser(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...


def _parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """Full options for the chosen command; every other command is a name and a line."""
    parser = argparse.ArgumentParser(prog="maia-vectordb", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True)
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    module = COMMANDS[chosen][0] if chosen in COMMANDS else None
    if chosen is not None and module is not None:
        options = importlib.import_module(f"maia_vectordb.cli.{module}")
        cast(_Options, options).add_parser(sub)
    for name, (_, help_text) in COMMANDS.items():
        if name not in sub.choices:
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser(argv).parse_args(argv)
    from maia_vectordb.cli.dispatch import run

    run(args)
