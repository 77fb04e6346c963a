"""Log lines emitted while the ingest bars show go through the bars' console, above them."""

from __future__ import annotations

import io
import logging

import pytest
from rich.console import Console

from maia_vectordb.cli.console_logs import logs_through
from maia_vectordb.cli.ingest_report import IngestProgress
from maia_vectordb.logging_setup import build_handler


@pytest.fixture
def root_stream() -> io.StringIO:
    """The root logger writing to a stream of its own, as `configure_logging` sets it up."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = list(root.handlers)
    root.handlers = [build_handler("text", stream)]
    yield stream
    root.handlers = saved


def test_a_warning_during_progress_goes_through_the_console(root_stream: io.StringIO) -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    with IngestProgress(console, files=1, total_bytes=10) as bars:
        logging.getLogger("pypdf._reader").warning("Ignoring wrong pointing object 6 0")
        bars.sent(10)
    assert root_stream.getvalue() == "", "nothing bypasses the live display"
    assert "WARNING pypdf._reader Ignoring wrong pointing object 6 0" in screen.getvalue()
    logging.getLogger("pypdf").warning("after")
    assert "after" in root_stream.getvalue(), "the usual handler is back once the bars stop"


def test_keeps_the_format_and_its_fields(root_stream: io.StringIO) -> None:
    screen = io.StringIO()
    with logs_through(Console(file=screen, width=200)):
        logging.getLogger("maia_vectordb.ingest").warning(
            "ingest.file.failed [x]", extra={"file_id": "file-1"}
        )
    assert "ingest.file.failed [x] file_id=file-1" in screen.getvalue()
