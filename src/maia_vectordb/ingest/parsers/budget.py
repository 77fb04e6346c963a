"""Limits one parse may not pass: a hostile file fails fast instead of exhausting the worker.

Parsers call `add_text` as text accumulates and `check_time` in their loops, so a
decompression bomb, a PDF with a shared page tree or a pathological page stops
at the limit with `InvalidFile` naming it, rather than after minutes and gigabytes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from maia_vectordb.ingest.parsers.errors import InvalidFile

MIB = 1024 * 1024


@dataclass(frozen=True)
class ParseLimits:
    """The configured ceilings (see `Settings`); defaults suit tests and the CLI."""

    max_text_chars: int = 32_000_000
    max_inflated_bytes: int = 512 * MIB
    max_compression_ratio: float = 100.0
    max_pdf_pages: int = 5_000
    timeout_seconds: float = 120.0


@dataclass
class Budget:
    """One parse's running account against its `ParseLimits`."""

    limits: ParseLimits = field(default_factory=ParseLimits)
    text_chars: int = 0
    deadline: float = field(init=False)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.limits.timeout_seconds

    def add_text(self, chars: int) -> None:
        self.text_chars += chars
        if self.text_chars > self.limits.max_text_chars:
            raise InvalidFile(
                f"The file's text exceeds the limit of {self.limits.max_text_chars} characters"
            )

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise InvalidFile(
                f"Parsing the file exceeded the time limit of {self.limits.timeout_seconds:g} s"
            )
