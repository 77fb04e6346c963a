"""The local model's files: a given directory, the data-dir cache, or one verified download.

The download is the archive Chroma publishes for its default embedding function (the
same all-MiniLM-L6-v2 ONNX export, pinned by SHA-256 in Chroma's source), because it
is a published location with a published hash that this code can pin. The archive goes
to a temporary file in the cache, is checked against that hash, and only then are the
two files it needs copied out and renamed into place, all under a file lock: several
processes starting together download once, and a half-written or tampered file is
never used. Failure is one line that says how to provide the files; nothing retries.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from filelock import FileLock

from maia_vectordb.embeddings.base import PermanentEmbeddingError

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
ARCHIVE_URL = "https://chroma-onnx-models.s3.amazonaws.com/all-MiniLM-L6-v2/onnx.tar.gz"
MODEL_FILES = ("model.onnx", "tokenizer.json")
DOWNLOAD_TIMEOUT = 30.0
COPY_BLOCK = 1 << 20
# The real archive is ~80 MiB; a server that sends more is not sending it.
MAX_DOWNLOAD_BYTES = 1 << 30


@dataclass(frozen=True)
class PinnedArchive:
    """A tar.gz by its SHA-256, and where each needed file sits inside it."""

    sha256: str
    members: Mapping[str, str]


PINNED_ARCHIVE = PinnedArchive(
    sha256="913d7300ceae3b2dbc2c50d1de4baacab4be7b9380491c27fab7418616a16ec3",
    members={"model.onnx": "onnx/model.onnx", "tokenizer.json": "onnx/tokenizer.json"},
)


class ModelFilesUnavailable(PermanentEmbeddingError):
    """The model cannot be loaded here; the message tells a person what to do."""


def has_files(directory: Path, names: Iterable[str] = MODEL_FILES) -> bool:
    return all((directory / name).is_file() for name in names)


def _how_to_provide(cache: Path) -> str:
    return (
        f"set EMBEDDING_MODEL_PATH to a directory with model.onnx and tokenizer.json of "
        f"{MODEL_NAME}, or put them in {cache}"
    )


def given_directory(path: Path) -> Path:
    """EMBEDDING_MODEL_PATH is the operator's choice: used as is, never downloaded into."""
    if not has_files(path):
        raise ModelFilesUnavailable(
            f"EMBEDDING_MODEL_PATH={path} must contain model.onnx and tokenizer.json"
        )
    return path


def ensure_files(cache: Path, url: str, *, archive: PinnedArchive = PINNED_ARCHIVE) -> Path:
    """The cache directory with every file present, downloading the archive once if not."""
    if has_files(cache, archive.members):
        return cache
    cache.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache / ".download.lock")):
        if not has_files(cache, archive.members):
            _download(cache, url, archive)
    return cache


def _download(cache: Path, url: str, archive: PinnedArchive) -> None:
    log.info("embeddings.model.downloading", extra={"url": url, "into": str(cache)})
    fd, temporary = tempfile.mkstemp(prefix=".archive.", suffix=".part", dir=cache)
    try:
        with os.fdopen(fd, "w+b") as out:
            digest = _copy(url, out, cache)
            if digest != archive.sha256:
                raise ModelFilesUnavailable(
                    f"{url} has SHA-256 {digest}, not the pinned {archive.sha256}; refusing "
                    f"it ({_how_to_provide(cache)})"
                )
            out.seek(0)
            _extract(out, cache, archive, url)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _copy(url: str, out: BinaryIO, cache: Path) -> str:
    """Stream the body to `out`, hashing as it goes; any network failure is one line."""
    digest, size = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:  # noqa: S310
            while block := response.read(COPY_BLOCK):
                size += len(block)
                if size > MAX_DOWNLOAD_BYTES:
                    raise ModelFilesUnavailable(
                        f"{url} sent more than {MAX_DOWNLOAD_BYTES} bytes; refusing it "
                        f"({_how_to_provide(cache)})"
                    )
                digest.update(block)
                out.write(block)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelFilesUnavailable(
            f"the {MODEL_NAME} model files are not available and downloading {url} failed "
            f"({reason}); {_how_to_provide(cache)}"
        ) from None
    return digest.hexdigest()


def _extract(source: IO[bytes], cache: Path, archive: PinnedArchive, url: str) -> None:
    """Copy out only the named regular files (the hash vouches for them), each renamed
    into place whole; nothing else in the archive touches the disk."""
    with tarfile.open(fileobj=source, mode="r:gz") as tar:
        for name, member_path in archive.members.items():
            stream = _regular_file(tar, member_path)
            if stream is None:
                raise ModelFilesUnavailable(
                    f"{url} has no file {member_path}; {_how_to_provide(cache)}"
                )
            _write_atomically(stream, cache / name)


def _regular_file(tar: tarfile.TarFile, path: str) -> IO[bytes] | None:
    """The member's bytes, or None when it is absent or not a regular file (a link)."""
    try:
        member = tar.getmember(path)
    except KeyError:
        return None
    return tar.extractfile(member) if member.isreg() else None


def _write_atomically(stream: IO[bytes], target: Path) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            while block := stream.read(COPY_BLOCK):
                out.write(block)
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)
