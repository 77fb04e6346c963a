"""Seconds to parse hostile-but-valid HTML shapes, to show the parser is linear.

    uv run --frozen python bench/parse_html.py            # default sizes
    uv run --frozen python bench/parse_html.py --scale 0.25

Each shape grows in element count; a linear parser's seconds grow with it, a
quadratic one's with its square.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

from maia_vectordb.ingest.parsers import parse

KIB = 1024


def table(rows: int) -> bytes:
    cells = "".join(
        f"<tr><td>r{i}</td><td>value {i}</td><td>{i * 7}</td></tr>" for i in range(rows)
    )
    return f"<html><body><table>{cells}</table></body></html>".encode()


def paragraphs(count: int) -> bytes:
    return "".join(f"<p>paragraph number {i}</p>" for i in range(count)).encode()


def nested_divs(depth: int) -> bytes:
    return ("<div>x" * depth + "</div>" * depth).encode()


SHAPES: dict[str, tuple[Callable[[int], bytes], list[int]]] = {
    "table rows": (table, [2_000, 8_000]),
    "<p> elements": (paragraphs, [2_500, 10_000]),
    "nested <div>": (nested_divs, [12_500, 50_000]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    for name, (build, sizes) in SHAPES.items():
        for size in sizes:
            data = build(max(1, int(size * args.scale)))
            started = time.perf_counter()
            text = parse("bench.html", data)
            seconds = time.perf_counter() - started
            print(
                f"{name:14} n={int(size * args.scale):>7} {len(data) / KIB:8.0f} KiB"
                f" -> {len(text) / KIB:7.0f} KiB text in {seconds:7.2f} s"
            )


if __name__ == "__main__":
    main()
