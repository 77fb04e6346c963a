"""A `worker` process's metrics, served on a port of its own (it has no API)."""

from __future__ import annotations

import httpx
import pytest

from maia_vectordb.observability.exposition import metrics_server
from maia_vectordb.observability.metrics import Metrics


class TestMetricsServer:
    def test_serves_the_process_registry_over_http(self) -> None:
        metrics = Metrics.build()
        metrics.ingest.record_job(outcome="completed", seconds=0.5, chunks=3)
        with metrics_server(metrics.registry, host="127.0.0.1", port=0) as port:
            response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert response.status_code == 200
        assert "maia_ingest_chunks_total 3.0" in response.text
        assert 'maia_ingest_job_duration_seconds_count{outcome="completed"} 1.0' in response.text

    def test_port_is_closed_when_the_process_stops_serving(self) -> None:
        with metrics_server(Metrics.build().registry, host="127.0.0.1", port=0) as port:
            pass
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
