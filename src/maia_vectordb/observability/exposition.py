"""Metrics for processes without the API: `worker` serves its registry on a port of its own.

An API process answers `GET /metrics` through the app; a worker has no HTTP server, so
it runs prometheus-client's small one beside its ingestion loops, for as long as they run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, start_http_server


@contextlib.contextmanager
def metrics_server(registry: CollectorRegistry, *, host: str, port: int) -> Iterator[int]:
    """Serve `registry` at http://host:port/metrics; yields the bound port (0 picks one)."""
    server, thread = start_http_server(port, addr=host, registry=registry)
    try:
        yield int(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
