"""Zip-based formats (docx, pptx) opened without trusting the archive.

The directory is checked first (member count, declared sizes, compression
ratio), so a bomb is refused before a byte is inflated. Then every member is
inflated here in bounded pieces, counting what really comes out, and the
readers get the result re-packed uncompressed: they never inflate anything
themselves, so a directory that lies about sizes cannot make them allocate
more than was counted.
"""

from __future__ import annotations

import io
import zipfile

from maia_vectordb.ingest.parsers.budget import Budget, ParseLimits
from maia_vectordb.ingest.parsers.errors import InvalidFile

READ_BYTES = 1024 * 1024
MAX_MEMBERS = 20_000
# Small members may compress by any ratio (an empty table's XML does); only large ones count.
RATIO_FLOOR_BYTES = 1024 * 1024


def unpacked(data: bytes, budget: Budget) -> io.BytesIO:
    """The archive, checked and re-packed with every member stored uncompressed."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target,
    ):
        members = list({m.filename: m for m in source.infolist() if not m.is_dir()}.values())
        check_directory(members, budget.limits, archive_bytes=len(data))
        inflated = 0
        for member in members:
            content = _inflate(source, member, budget, inflated)
            inflated += len(content)
            target.writestr(member.filename, content)
    out.seek(0)
    return out


def check_directory(
    members: list[zipfile.ZipInfo], limits: ParseLimits, *, archive_bytes: int
) -> None:
    """Refuse from the declared sizes alone, before anything is inflated.

    The ratio is checked per member and for the whole archive, so many small
    members that each stay under the floor cannot add up to a bomb either.
    """
    if len(members) > MAX_MEMBERS:
        raise InvalidFile(f"The archive has more than {MAX_MEMBERS} members")
    total = sum(m.file_size for m in members)
    if total > limits.max_inflated_bytes:
        raise _too_big(limits)
    named = [(m.filename[:100], m.file_size, m.compress_size) for m in members]
    for name, inflated, compressed in [*named, ("(all members)", total, archive_bytes)]:
        if inflated > max(RATIO_FLOOR_BYTES, limits.max_compression_ratio * compressed):
            raise InvalidFile(
                f"The archive member {name} exceeds the compression ratio limit of "
                f"{limits.max_compression_ratio:g}:1"
            )


def _inflate(
    source: zipfile.ZipFile, member: zipfile.ZipInfo, budget: Budget, inflated: int
) -> bytes:
    """One member in bounded reads; zipfile stops at the declared size and checks the CRC."""
    pieces: list[bytes] = []
    with source.open(member) as stream:
        while piece := stream.read(READ_BYTES):
            inflated += len(piece)
            if inflated > budget.limits.max_inflated_bytes:
                raise _too_big(budget.limits)
            budget.check_time()
            pieces.append(piece)
    return b"".join(pieces)


def _too_big(limits: ParseLimits) -> InvalidFile:
    return InvalidFile(
        f"The archive inflates to more than the limit of {limits.max_inflated_bytes} bytes"
    )
