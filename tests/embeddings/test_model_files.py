"""Model files: a pinned, checked archive download from a local HTTP server, once across
processes, with only the needed files taken out of it."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from maia_vectordb.embeddings.model_files import (
    PINNED_ARCHIVE,
    ModelFilesUnavailable,
    PinnedArchive,
    ensure_files,
    given_directory,
)

MODEL = b"pretend onnx weights" * 1000
TOKENIZER = b'{"v": 1}'
ARCHIVE_PATH = "/all-MiniLM-L6-v2/onnx.tar.gz"


def tar_gz(files: Mapping[str, bytes], links: Mapping[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path, body in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
        for path, target in (links or {}).items():
            info = tarfile.TarInfo(path)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buffer.getvalue()


GOOD = tar_gz(
    {"onnx/model.onnx": MODEL, "onnx/tokenizer.json": TOKENIZER, "onnx/vocab.txt": b"[PAD]"}
)


def pinned(body: bytes) -> PinnedArchive:
    return PinnedArchive(hashlib.sha256(body).hexdigest(), PINNED_ARCHIVE.members)


@dataclass
class Mirror:
    url: str
    body: bytes
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    """Serves one archive, slowly enough that concurrent callers overlap."""
    state = Mirror("", GOOD)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.path != ARCHIVE_PATH:
                self.send_error(404)
                return
            threading.Event().wait(0.2)
            self.send_response(200)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}{ARCHIVE_PATH}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


class TestDownload:
    def test_takes_the_two_files_out_of_the_verified_archive(
        self, mirror: Mirror, tmp_path: Path
    ) -> None:
        directory = ensure_files(tmp_path / "m", mirror.url, archive=pinned(GOOD))
        assert (directory / "model.onnx").read_bytes() == MODEL
        assert (directory / "tokenizer.json").read_bytes() == TOKENIZER
        assert sorted(p.name for p in directory.iterdir() if not p.name.startswith(".")) == [
            "model.onnx",
            "tokenizer.json",
        ]
        assert not list(directory.glob(".*.part"))
        assert mirror.requests == [ARCHIVE_PATH]

    def test_a_present_cache_needs_no_network(self, mirror: Mirror, tmp_path: Path) -> None:
        ensure_files(tmp_path / "m", mirror.url, archive=pinned(GOOD))
        ensure_files(tmp_path / "m", "http://127.0.0.1:9/x.tar.gz", archive=pinned(GOOD))
        assert len(mirror.requests) == 1

    def test_checksum_mismatch_is_refused_and_nothing_is_kept(
        self, mirror: Mirror, tmp_path: Path
    ) -> None:
        mirror.body = tar_gz({"onnx/model.onnx": b"tampered", "onnx/tokenizer.json": TOKENIZER})
        with pytest.raises(ModelFilesUnavailable, match="not the pinned"):
            ensure_files(tmp_path / "m", mirror.url, archive=pinned(GOOD))
        assert [p.name for p in (tmp_path / "m").iterdir()] == [".download.lock"]

    def test_an_archive_without_the_model_is_refused(self, mirror: Mirror, tmp_path: Path) -> None:
        mirror.body = tar_gz({"onnx/tokenizer.json": TOKENIZER})
        with pytest.raises(ModelFilesUnavailable, match=r"no file onnx/model\.onnx"):
            ensure_files(tmp_path / "m", mirror.url, archive=pinned(mirror.body))
        assert not (tmp_path / "m" / "model.onnx").exists()

    def test_a_link_in_place_of_a_file_is_refused(self, mirror: Mirror, tmp_path: Path) -> None:
        mirror.body = tar_gz(
            {"onnx/tokenizer.json": TOKENIZER}, links={"onnx/model.onnx": "/etc/passwd"}
        )
        with pytest.raises(ModelFilesUnavailable, match=r"no file onnx/model\.onnx"):
            ensure_files(tmp_path / "m", mirror.url, archive=pinned(mirror.body))

    def test_offline_is_one_line_saying_how_to_provide_the_files(self, tmp_path: Path) -> None:
        with pytest.raises(ModelFilesUnavailable) as caught:
            ensure_files(tmp_path / "m", "http://127.0.0.1:9/x.tar.gz", archive=pinned(GOOD))
        message = caught.value.message
        assert "\n" not in message
        assert "EMBEDDING_MODEL_PATH" in message

    def test_given_directory_must_hold_the_files(self, tmp_path: Path) -> None:
        with pytest.raises(ModelFilesUnavailable, match=r"must contain model\.onnx"):
            given_directory(tmp_path)

    def test_concurrent_processes_download_once(self, mirror: Mirror, tmp_path: Path) -> None:
        script = (
            "import sys, json\n"
            "from pathlib import Path\n"
            "from maia_vectordb.embeddings.model_files import PinnedArchive, ensure_files\n"
            "sha, members = json.loads(sys.argv[3])\n"
            "ensure_files(Path(sys.argv[1]), sys.argv[2], archive=PinnedArchive(sha, members))\n"
        )
        archive = pinned(GOOD)
        args = [str(tmp_path / "m"), mirror.url, json.dumps([archive.sha256, archive.members])]
        procs = [subprocess.Popen([sys.executable, "-c", script, *args]) for _ in range(3)]
        assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
        assert mirror.requests == [ARCHIVE_PATH]
        assert (tmp_path / "m" / "model.onnx").read_bytes() == MODEL
