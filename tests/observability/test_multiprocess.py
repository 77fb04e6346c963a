"""`serve --workers N`: one scrape reports every process; build and process series."""

from __future__ import annotations

import os
import platform
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client import values
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.pool import QueuePool

from maia_vectordb import __version__
from maia_vectordb.observability import multiprocess
from maia_vectordb.observability.metrics import Metrics

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(body: bytes) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


@pytest.fixture
def as_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[int], Metrics]:
    """Metrics built as the API process with that pid would build them in multiprocess
    mode: file-backed values in the shared directory `serve` prepared."""
    monkeypatch.setenv(multiprocess.ENV, "")  # so monkeypatch restores the absence after
    multiprocess.prepare(tmp_path)

    def build(pid: int) -> Metrics:
        monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda: pid))
        return Metrics.build()

    return build


def test_one_scrape_sums_every_process(as_process: Callable[[int], Metrics]) -> None:
    first, second = as_process(101), as_process(102)
    for metrics in (first, second):
        metrics.http.record(method="GET", route="/v1/files", status=200, seconds=0.01)
    second.ingest.record_job(outcome="completed", seconds=0.2, chunks=7)
    found = _samples(multiprocess.exposition(first.registry))
    route = (("method", "GET"), ("route", "/v1/files"), ("status", "200"))
    assert found[("maia_http_requests_total", route)] == 2
    assert found[("maia_ingest_chunks_total", ())] == 7
    build = (("python", platform.python_version()), ("version", __version__))
    assert found[("maia_build_info", build)] == 1, "one series, not one per process"


def test_prepare_empties_a_previous_runs_values(tmp_path: Path) -> None:
    """Counts of a previous run (or of processes since gone) must not be summed in."""
    stale = tmp_path / multiprocess.FOLDER / "counter_99.db"
    stale.parent.mkdir()
    stale.write_bytes(b"old")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(multiprocess.ENV, "")
        assert list(multiprocess.prepare(tmp_path).iterdir()) == []
        assert os.environ[multiprocess.ENV] == str(tmp_path / multiprocess.FOLDER)


async def test_a_single_process_reports_build_and_process_series(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/metrics")).content
    found = _samples(body)
    info = [v for (name, labels), v in found.items() if name == "maia_build_info"]
    assert info == [1]
    assert f'version="{__version__}"' in body.decode()
    assert found[("process_resident_memory_bytes", ())] > 0
    assert ("process_start_time_seconds", ()) in found


def test_pool_figures_are_written_as_connections_move(
    as_process: Callable[[int], Metrics],
) -> None:
    """No other process can be asked at scrape time, so each writes its pool's figures."""
    metrics = as_process(103)
    pool = QueuePool(lambda: sqlite3.connect(":memory:"), pool_size=3)
    metrics.pool.watch(pool)

    def scraped(name: str) -> float:
        return _samples(multiprocess.exposition(metrics.registry))[(name, ())]

    connection = pool.connect()
    assert (scraped("maia_db_pool_checked_out"), scraped("maia_db_pool_size")) == (1, 3)
    connection.close()
    assert scraped("maia_db_pool_checked_out") == 0
