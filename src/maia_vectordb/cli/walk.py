"""Which local files `ingest` sends: the paths given, folders walked, hidden things left out."""

from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from maia_vectordb.cli.connect import CliError

MAX_KEY_CHARS = 512
"""Attribute values are capped at 512 characters; longer paths keep their tail."""


@dataclass(frozen=True)
class LocalFile:
    path: Path
    key: str
    """How the store knows the file across runs: its path relative to the ingested root."""
    size: int


@dataclass
class Collected:
    files: list[LocalFile] = field(default_factory=list)
    ignored: int = 0
    """Hidden entries, symlinks leading out of their tree, and special files."""
    excluded: int = 0
    """Files and folders matching an `--exclude` pattern (a folder counts once)."""


@dataclass(frozen=True)
class Exclusions:
    """`--exclude` globs, matched against a path relative to the ingested root and
    against its last part, so both `*.png` and `drafts/*` mean what they say."""

    patterns: Sequence[str] = ()
    root: Path = Path()

    def match(self, path: Path) -> bool:
        if not self.patterns:
            return False
        key = path_key(path, self.root)
        return any(
            fnmatch.fnmatchcase(key, p) or fnmatch.fnmatchcase(path.name, p) for p in self.patterns
        )


def collect(paths: Sequence[str], exclude: Sequence[str] = ()) -> Collected:
    """Every regular file under `paths`, each once, in a stable order."""
    found = Collected()
    seen: set[Path] = set()
    root = ingest_root(paths)
    skip = Exclusions(tuple(exclude), root)
    for raw in paths:
        for path in _expand(Path(raw), found, skip):
            real = path.resolve()
            if real not in seen:
                seen.add(real)
                found.files.append(LocalFile(path, path_key(path, root), path.stat().st_size))
    return found


def ingest_root(paths: Sequence[str]) -> Path:
    """The deepest folder holding everything named (a named file counts as its folder).
    Keys are relative to it, so a re-run from another working directory finds the same
    files under the same keys instead of uploading them all again."""
    absolute = [Path(os.path.normpath(Path(raw).absolute())) for raw in paths]
    return Path(os.path.commonpath([p if p.is_dir() else p.parent for p in absolute]))


def _expand(path: Path, found: Collected, skip: Exclusions) -> Iterator[Path]:
    """A path named on the command line is taken as given, even when hidden, unless
    an `--exclude` pattern matches it."""
    if path.is_file() and skip.match(path):
        found.excluded += 1
    elif path.is_file():
        yield path
    elif path.is_dir():
        yield from _walk(path, found, skip)
    elif path.exists() or path.is_symlink():
        raise CliError(f"not a regular file or folder: {path}", exit_code=2)
    else:
        raise CliError(f"no such file or folder: {path}", exit_code=2)


def _walk(root: Path, found: Collected, skip: Exclusions) -> Iterator[Path]:
    """Symlinked folders are never entered (no loops); symlinked files only inside `root`."""
    inside = root.resolve()
    for folder, dirnames, filenames in os.walk(root):
        kept = [d for d in dirnames if _enterable(Path(folder, d))]
        found.ignored += len(dirnames) - len(kept)
        wanted = [d for d in kept if not skip.match(Path(folder, d))]
        found.excluded += len(kept) - len(wanted)
        dirnames[:] = sorted(wanted)
        for name in sorted(filenames):
            path = Path(folder, name)
            if not _wanted(path, inside):
                found.ignored += 1
            elif skip.match(path):
                found.excluded += 1
            else:
                yield path


def _enterable(path: Path) -> bool:
    return not path.name.startswith(".") and not path.is_symlink()


def _wanted(path: Path, inside: Path) -> bool:
    if path.name.startswith(".") or not path.is_file():
        return False
    return not path.is_symlink() or path.resolve().is_relative_to(inside)


def path_key(path: Path, root: Path) -> str:
    """`path` relative to `root`, with `/` separators; long keys keep their tail."""
    key = Path(os.path.normpath(path.absolute())).relative_to(root).as_posix()
    return key if len(key) <= MAX_KEY_CHARS else "…" + key[-(MAX_KEY_CHARS - 1) :]


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
