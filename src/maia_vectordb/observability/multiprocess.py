"""`serve --workers N`: N API processes behind one port, one `/metrics` answer for all.

A scrape reaches whichever process the kernel hands the connection to, so each process
writes its metric values to files in PROMETHEUS_MULTIPROC_DIR (prometheus-client's
multiprocess mode) and the answering process sums the files of all of them. The parent
sets the directory (under the data directory, emptied at every start so a previous run's
counts never leak in) before the API processes are spawned: prometheus-client chooses
file-backed values when it is first imported, and they import it after.

A single process (`serve`, `worker`, tests) never sets it and keeps in-memory values.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

ENV = "PROMETHEUS_MULTIPROC_DIR"
FOLDER = "prometheus-multiproc"


def prepare(data_dir: Path) -> Path:
    """An empty directory for this run, named in the environment the workers inherit."""
    path = data_dir / FOLDER
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, mode=0o700)
    os.environ[ENV] = str(path)
    return path


def active() -> bool:
    return ENV in os.environ


def exposition(own: CollectorRegistry) -> bytes:
    """This process's registry alone, or every process's values when they share files."""
    if not active():
        return generate_latest(own)
    combined = CollectorRegistry()
    MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
    return generate_latest(combined)
