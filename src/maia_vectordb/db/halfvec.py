"""halfvec parameters and COPY values in binary: float32 arrays packed in one numpy step.

pgvector's own encoder takes a list, packs it value by value with `struct` (`e`), and
needs a Python float for each of a chunk's 1536 values: the embedding response would be
turned into 1536 floats only to be packed again. A float32 `array` (what the OpenAI
client decodes) is converted by numpy instead, with the same result: both round to the
nearest half-float, ties to even, keep -0.0, NaN and infinities as such (PostgreSQL
refuses those), and a finite value too large for a half-float raises the `OverflowError`
that `struct` raised. Anything else still goes through pgvector's encoder unchanged.
"""

from __future__ import annotations

import array
import struct
from typing import Any

from pgvector import HalfVector

HEADER = struct.Struct(">HH")  # dimensions, unused
OVERFLOW = "float too large to pack with e format"  # struct's own words


def encode_halfvec(value: Any) -> bytes:
    """The binary halfvec of a float32 `array`, a list, an ndarray or a `HalfVector`."""
    if isinstance(value, array.array) and value.typecode == "f":
        return pack_float32(value)
    return (value if isinstance(value, HalfVector) else HalfVector(value)).to_binary()


def pack_float32(floats: array.array[float]) -> bytes:
    """`struct.pack(">HH", n, 0)` and each value as a big-endian half-float."""
    import numpy as np  # here: numpy costs every command its import time at start

    single = np.frombuffer(floats, dtype=np.float32)
    with np.errstate(over="ignore"):
        half = single.astype(">f2")
    infinite = np.isinf(half)
    if infinite.any() and not np.isinf(single[infinite]).all():
        raise OverflowError(OVERFLOW)
    return HEADER.pack(len(single), 0) + half.tobytes()
