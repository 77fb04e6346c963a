"""How commands answer: a table for people, or `--json` on stdout for programs."""

from __future__ import annotations

import argparse
import json
import sys


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on stdout instead of a table (progress stays on stderr)",
    )


def print_json(data: object) -> None:
    """Indented and UTF-8 as is, so it reads well and `jq` takes it alike."""
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def print_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
