"""The local model's files: a given directory, the data-dir cache, or one verified download.

A download goes to a temporary file beside its destination, is checked against a
pinned SHA-256 and only then renamed into place, all under a file lock: several
processes starting together download once, and a half-written or tampered file is
never used. Failure is one line that says how to provide the files; nothing retries.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from filelock import FileLock

from maia_vectordb.embeddings.base import PermanentEmbeddingError

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
HUB_REPOSITORY = "sentence-transformers/all-MiniLM-L6-v2"
HUB_REVISION = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf"
DOWNLOAD_TIMEOUT = 30.0
COPY_BLOCK = 1 << 20


@dataclass(frozen=True)
class PinnedFile:
    remote_path: str
    sha256: str


# The values of the verified ONNX export's SHA256SUMS (see the README's model section).
PINNED_FILES: Mapping[str, PinnedFile] = {
    "model.onnx": PinnedFile(
        "onnx/model.onnx", "6960c6b2980e83a814c09638b4c12e5ac1e8b0f9340729784ea2ccdd0e999c45"
    ),
    "tokenizer.json": PinnedFile(
        "tokenizer.json", "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
    ),
}


class ModelFilesUnavailable(PermanentEmbeddingError):
    """The model cannot be loaded here; the message tells a person what to do."""


def has_files(directory: Path, files: Mapping[str, PinnedFile] = PINNED_FILES) -> bool:
    return all((directory / name).is_file() for name in files)


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


def ensure_files(
    cache: Path, base_url: str, *, files: Mapping[str, PinnedFile] = PINNED_FILES
) -> Path:
    """The cache directory with every file present, downloading the missing ones once."""
    if has_files(cache, files):
        return cache
    cache.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache / ".download.lock")):
        for name, pinned in files.items():
            if not (cache / name).is_file():
                _download(cache, name, pinned, base_url)
    return cache


def _url(base_url: str, pinned: PinnedFile) -> str:
    return f"{base_url.rstrip('/')}/{HUB_REPOSITORY}/resolve/{HUB_REVISION}/{pinned.remote_path}"


def _download(cache: Path, name: str, pinned: PinnedFile, base_url: str) -> None:
    url = _url(base_url, pinned)
    log.info("embeddings.model.downloading", extra={"url": url, "into": str(cache)})
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=cache)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _copy(url, out, cache)
        if digest != pinned.sha256:
            raise ModelFilesUnavailable(
                f"{url} has SHA-256 {digest}, not the pinned {pinned.sha256}; refusing it "
                f"({_how_to_provide(cache)})"
            )
        os.replace(temporary, cache / name)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _copy(url: str, out: BinaryIO, cache: Path) -> str:
    """Stream the body to `out`, hashing as it goes; any network failure is one line."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:  # noqa: S310
            while block := response.read(COPY_BLOCK):
                digest.update(block)
                out.write(block)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelFilesUnavailable(
            f"the {MODEL_NAME} model files are not available and downloading {url} failed "
            f"({reason}); {_how_to_provide(cache)}"
        ) from None
    return digest.hexdigest()
