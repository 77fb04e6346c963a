"""Model files: a pinned, checked download from a local HTTP server, once across processes."""

from __future__ import annotations

import hashlib
import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from maia_vectordb.embeddings.model_files import (
    HUB_REPOSITORY,
    HUB_REVISION,
    ModelFilesUnavailable,
    PinnedFile,
    ensure_files,
    given_directory,
)

BODIES = {"onnx/model.onnx": b"pretend onnx weights" * 1000, "tokenizer.json": b'{"v": 1}'}


def pinned(bodies: dict[str, bytes]) -> dict[str, PinnedFile]:
    names = {"onnx/model.onnx": "model.onnx", "tokenizer.json": "tokenizer.json"}
    return {names[p]: PinnedFile(p, hashlib.sha256(b).hexdigest()) for p, b in bodies.items()}


@dataclass
class Hub:
    base_url: str
    bodies: dict[str, bytes]
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def hub() -> Iterator[Hub]:
    """Serves BODIES at the hub's /<repo>/resolve/<revision>/<path> layout, slowly enough
    that concurrent callers overlap."""
    state = Hub("", dict(BODIES))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            path = self.path.split("/resolve/", 1)[-1].split("/", 1)[-1]
            body = state.bodies.get(path)
            if not self.path.startswith(f"/{HUB_REPOSITORY}/") or body is None:
                self.send_error(404)
                return
            threading.Event().wait(0.2)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


class TestDownload:
    def test_downloads_and_verifies_into_the_cache(self, hub: Hub, tmp_path: Path) -> None:
        directory = ensure_files(tmp_path / "m", hub.base_url, files=pinned(BODIES))
        assert (directory / "model.onnx").read_bytes() == BODIES["onnx/model.onnx"]
        assert (directory / "tokenizer.json").read_bytes() == BODIES["tokenizer.json"]
        assert len(hub.requests) == 2

    def test_a_present_cache_needs_no_network(self, hub: Hub, tmp_path: Path) -> None:
        ensure_files(tmp_path / "m", hub.base_url, files=pinned(BODIES))
        ensure_files(tmp_path / "m", "http://127.0.0.1:9", files=pinned(BODIES))
        assert len(hub.requests) == 2

    def test_checksum_mismatch_is_refused_and_nothing_is_kept(
        self, hub: Hub, tmp_path: Path
    ) -> None:
        expected = pinned(BODIES)
        hub.bodies["onnx/model.onnx"] = b"tampered"
        with pytest.raises(ModelFilesUnavailable, match="not the pinned"):
            ensure_files(tmp_path / "m", hub.base_url, files=expected)
        assert not (tmp_path / "m" / "model.onnx").exists()
        assert not list((tmp_path / "m").glob("*.part"))

    def test_offline_is_one_line_saying_how_to_provide_the_files(self, tmp_path: Path) -> None:
        with pytest.raises(ModelFilesUnavailable) as caught:
            ensure_files(tmp_path / "m", "http://127.0.0.1:9", files=pinned(BODIES))
        message = caught.value.message
        assert "\n" not in message
        assert "EMBEDDING_MODEL_PATH" in message

    def test_given_directory_must_hold_the_files(self, tmp_path: Path) -> None:
        with pytest.raises(ModelFilesUnavailable, match=r"must contain model\.onnx"):
            given_directory(tmp_path)

    def test_concurrent_processes_download_once(self, hub: Hub, tmp_path: Path) -> None:
        script = (
            "import sys, json\n"
            "from pathlib import Path\n"
            "from maia_vectordb.embeddings.model_files import PinnedFile, ensure_files\n"
            "files = {k: PinnedFile(*v) for k, v in json.loads(sys.argv[3]).items()}\n"
            "ensure_files(Path(sys.argv[1]), sys.argv[2], files=files)\n"
        )
        files = {k: [v.remote_path, v.sha256] for k, v in pinned(BODIES).items()}
        args = [str(tmp_path / "m"), hub.base_url, json.dumps(files)]
        procs = [subprocess.Popen([sys.executable, "-c", script, *args]) for _ in range(3)]
        assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
        expected = [f"/{HUB_REPOSITORY}/resolve/{HUB_REVISION}/{path}" for path in BODIES]
        assert sorted(hub.requests) == sorted(expected)
