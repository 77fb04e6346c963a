"""Plain-text formats: the encoding is guessed from the bytes, never declared."""

from __future__ import annotations

import codecs
import json

from maia_vectordb.ingest.parsers.budget import Budget
from maia_vectordb.ingest.parsers.errors import InvalidFile

BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
SNIFF_BYTES = 4096
# In UTF-16 text that is mostly ASCII, every other byte is NUL; UTF-8 text has none.
MIN_NUL_SHARE = 0.3
MAX_OTHER_NUL_SHARE = 0.05


def decode(data: bytes) -> str:
    """UTF-8 or UTF-16, by byte-order mark or, for UTF-16 without one, by its NULs."""
    for bom, codec in BOMS:
        if data.startswith(bom):
            return _strict(data[len(bom) :], codec)
    return _strict(data, _bomless_utf16(data) or "utf-8")


def parse_text(data: bytes, budget: Budget) -> str:
    text = decode(data)
    budget.add_text(len(text))
    return text


def parse_json(data: bytes, budget: Budget) -> str:
    """The original text is kept: its layout reads better than a re-serialisation.

    Nesting deeper than Python's recursion limit is refused here, at once: no
    retry could read it.
    """
    text = parse_text(data, budget)
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidFile(f"The file is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidFile("The JSON file is nested too deeply to read") from exc
    return text


def _strict(data: bytes, codec: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise InvalidFile("The file is not valid UTF-8 or UTF-16 text") from exc


def _bomless_utf16(data: bytes) -> str | None:
    """Which UTF-16 byte order the NULs point to, if they clearly point to one."""
    sample = data[:SNIFF_BYTES]
    if len(data) % 2 or not sample:
        return None
    half = len(sample) // 2
    even, odd = sample[0::2].count(0) / half, sample[1::2].count(0) / half
    if odd >= MIN_NUL_SHARE and even <= MAX_OTHER_NUL_SHARE:
        return "utf-16-le"
    if even >= MIN_NUL_SHARE and odd <= MAX_OTHER_NUL_SHARE:
        return "utf-16-be"
    return None
