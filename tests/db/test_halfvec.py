"""float32 arrays packed to halfvec in one step give pgvector's bytes, errors included."""

from __future__ import annotations

import array
import math
import random
import struct
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from pgvector import HalfVector
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from maia_vectordb.db.engine import with_vector_codecs
from maia_vectordb.db.halfvec import encode_halfvec, pack_float32

HALF_MAX = 65504.0
EDGES = [
    0.0, -0.0, 1.0, -1.0, 1 / 3, -2 / 3, 0.1, 1e-3, HALF_MAX, -HALF_MAX, 65519.0, -65519.0,
    2.0**-14, 2.0**-24, 2.0**-25, 3 * 2.0**-26, 2.0**-26, 2.0**-30, 1e-45, -1e-45,
    1 + 2.0**-11, 1 + 3 * 2.0**-11, 1 + 2.0**-11 + 2.0**-20, 2048 + 1, 2048 + 3, 4095.5,
    float(np.finfo(np.float32).tiny), math.inf, -math.inf,
]  # fmt: skip


def pgvector_bytes(values: list[float]) -> bytes:
    """What pgvector's own asyncpg encoder sends for a list."""
    return HalfVector(values).to_binary()


def float32s(values: list[float]) -> array.array[float]:
    return array.array("f", values)


def as_float32(value: float) -> float:
    return float(np.float32(value))


def test_edge_values_pack_as_pgvector_packs_them() -> None:
    values = [as_float32(v) for v in EDGES]
    assert pack_float32(float32s(values)) == pgvector_bytes(values)


def test_nan_packs_to_a_nan_for_postgresql_to_refuse() -> None:
    packed = pack_float32(float32s([math.nan, -math.nan, 1.0]))
    halves = np.frombuffer(packed[4:], dtype=">f2")
    assert np.isnan(halves[:2]).all()
    assert packed[:4] == pgvector_bytes([math.nan, -math.nan, 1.0])[:4]


@pytest.mark.parametrize("seed", range(3))
def test_any_float32_below_the_overflow_packs_as_pgvector_packs_it(seed: int) -> None:
    """Random bit patterns cover every exponent (subnormal halves, rounding ties)."""
    rng = random.Random(seed)
    bits = [rng.getrandbits(32) for _ in range(50_000)]
    floats = array.array("f", struct.pack(f"{len(bits)}I", *bits))
    kept = [v for v in floats.tolist() if not math.isnan(v) and abs(v) < 65520.0]
    assert pack_float32(float32s(kept)) == pgvector_bytes(kept)


@pytest.mark.parametrize("value", [65520.0, -65520.0, 1e6, float(np.finfo(np.float32).max)])
def test_a_finite_value_too_large_raises_as_struct_did(value: float) -> None:
    with pytest.raises(OverflowError) as ours:
        pack_float32(float32s([1.0, value]))
    with pytest.raises(OverflowError) as theirs:
        pgvector_bytes([1.0, value])
    assert str(ours.value) == str(theirs.value)


def test_empty() -> None:
    assert pack_float32(float32s([])) == pgvector_bytes([])


@pytest.mark.parametrize(
    "value",
    [[0.5, -0.25], HalfVector([0.5, -0.25]), np.array([0.5, -0.25], dtype=np.float32)],
)
def test_anything_else_is_pgvectors_encoding(value: Any) -> None:
    assert encode_halfvec(value) == pgvector_bytes([0.5, -0.25])


def test_other_arrays_are_refused_as_pgvector_refuses_them() -> None:
    with pytest.raises(ValueError, match="expected list or ndarray"):
        encode_halfvec(array.array("d", [0.1]))


@pytest.fixture
async def codecs(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine with the app's vector codecs, as `build_engine` sets them up."""
    engine = with_vector_codecs(create_async_engine(migrated_url))
    yield engine
    await engine.dispose()


async def _round_trip(engine: AsyncEngine, value: object) -> Any:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        return await driver.fetchval("SELECT $1::halfvec", value)


async def test_postgresql_stores_what_a_list_stores(codecs: AsyncEngine) -> None:
    values = [as_float32(v) for v in EDGES if math.isfinite(v)]
    assert await _round_trip(codecs, float32s(values)) == await _round_trip(codecs, values)


@pytest.mark.parametrize("value", [math.nan, math.inf])
async def test_postgresql_refuses_nan_and_infinity_as_before(
    codecs: AsyncEngine, value: float
) -> None:
    with pytest.raises(Exception) as ours:
        await _round_trip(codecs, float32s([1.0, value]))
    with pytest.raises(Exception) as theirs:
        await _round_trip(codecs, [1.0, value])
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)
