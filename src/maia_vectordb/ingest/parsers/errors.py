"""Why a file yields no text; the worker records these as the file's `last_error`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maia_vectordb.ingest.parsers.budget import Budget

Parser = Callable[[bytes, "Budget"], str]


class UnsupportedFile(Exception):
    """The file type is not one OpenAI's file search accepts."""


class InvalidFile(Exception):
    """The file claims a supported type but its content cannot be read as one."""


def unreadable_as_invalid(kind: str) -> Callable[[Parser], Parser]:
    """Turn any failure of a third-party reader into `InvalidFile`.

    Readers of binary formats fail on malformed input with whatever exception their
    internals hit (zip, XML, stream or key errors). Each of them means the same
    thing here: this upload cannot be read, and reading it again will not help.
    """

    def decorate(parser: Parser) -> Parser:
        @functools.wraps(parser)
        def guarded(data: bytes, budget: Budget) -> str:
            try:
                return parser(data, budget)
            except InvalidFile:
                raise
            except Exception as exc:
                raise InvalidFile(f"The {kind} could not be read: {exc}") from exc

        return guarded

    return decorate
