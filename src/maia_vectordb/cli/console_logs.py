"""Log lines printed through a rich console, so a live progress display stays intact.

A warning written straight to stderr (pypdf's, say, from an in-process worker) lands in
the middle of the bars, and rich redraws them below it; printed through the console
that owns the bars, the line goes above them and the bars stay whole.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from rich.console import Console


class ConsoleHandler(logging.Handler):
    """Formats as the handler it stands in for did, then prints through `console`."""

    def __init__(self, console: Console, like: logging.Handler | None) -> None:
        super().__init__()
        self._console = console
        if like is not None:
            self.setFormatter(like.formatter)
            for item in like.filters:
                self.addFilter(item)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            self._console.print(line, markup=False, highlight=False, emoji=False, soft_wrap=True)
        except Exception:  # a logging handler must never raise into the code that logs
            self.handleError(record)


@contextlib.contextmanager
def logs_through(console: Console) -> Iterator[None]:
    """The root logger's handlers swapped for one console handler, and back afterwards."""
    root = logging.getLogger()
    saved = list(root.handlers)
    root.handlers = [ConsoleHandler(console, saved[0] if saved else None)]
    try:
        yield
    finally:
        root.handlers = saved
