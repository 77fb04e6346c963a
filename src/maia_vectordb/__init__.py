"""MAIA VectorDB: an OpenAI-compatible vector store on PostgreSQL + pgvector.

`__version__` is looked up on first use: reading the installed metadata scans
site-packages (about 0.1 s), which every command would otherwise pay at import.
"""

from __future__ import annotations

import functools


@functools.cache
def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("maia-vectordb")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0.0.0"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return _installed_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
