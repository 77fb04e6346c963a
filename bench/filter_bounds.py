"""How long a hostile filter holds the event loop: JSON decoding plus request validation.

Both run on the event loop in the request path; the whole-filter bound must reject the
largest bodies the 4 MiB JSON limit lets through in milliseconds, and the largest
accepted filter must compile quickly. Run: `uv run --frozen python bench/filter_bounds.py`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

from pydantic import ValidationError
from sqlalchemy.dialects import postgresql

from maia_vectordb.db.filters import compile_filter
from maia_vectordb.db.models import FileChunk
from maia_vectordb.schemas.search import SearchRequest

ROUNDS = 20


def _eq(i: int) -> dict[str, object]:
    return {"type": "eq", "key": f"k{i % 50}", "value": i}


def _tree(levels: int, fanout: int) -> dict[str, object]:
    if levels == 1:
        return {"type": "or", "filters": [_eq(i) for i in range(fanout)]}
    return {"type": "or", "filters": [_tree(levels - 1, fanout) for _ in range(fanout)]}


def _body(filters: object) -> bytes:
    return json.dumps({"query": "q", "filters": filters}, separators=(",", ":")).encode()


CASES: dict[str, bytes] = {
    "98k clauses, one level": _body({"type": "and", "filters": [_eq(1)] * 98_000}),
    "3 levels x 40 (64k leaves)": _body(_tree(3, 40)),
    "64 in-lists of 100 values": _body(
        {
            "type": "and",
            "filters": [
                {"type": "in", "key": f"k{i}", "value": list(range(100))} for i in range(64)
            ],
        }
    ),
    "accepted: 16 x 16 leaves": _body(_tree(2, 16)),
    "accepted: 8 in-lists of 60 values": _body(
        {"type": "or", "filters": [{"type": "in", "key": "k", "value": list(range(60))}] * 8}
    ),
}


def _median_ms(run: Callable[[], object]) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[len(times) // 2]


def _validate(body: bytes) -> str:
    try:
        request = SearchRequest.model_validate(json.loads(body))
    except ValidationError as exc:
        return f"400 {exc.errors()[0]['msg'][:60]}"
    sql = compile_filter(FileChunk.attributes, request.filters)
    sql.compile(dialect=postgresql.dialect())
    return "accepted and compiled"


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.2f}")
    for name, body in CASES.items():
        decode = _median_ms(lambda body=body: json.loads(body))  # type: ignore[misc]
        total = _median_ms(lambda body=body: _validate(body))  # type: ignore[misc]
        outcome = _validate(body)
        print(
            f"{name:38} {len(body) / 1024:8.0f} KiB  decode {decode:7.2f} ms  "
            f"decode+validate(+compile) {total:7.2f} ms  {outcome}"
        )


if __name__ == "__main__":
    main()
