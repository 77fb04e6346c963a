"""MAIA VectorDB: an OpenAI-compatible vector store on PostgreSQL + pgvector."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("maia-vectordb")
except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    __version__ = "0.0.0"
