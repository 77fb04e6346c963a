"""`maia-vectordb` under valgrind's callgrind, counting nothing until told (benchmarks only).

    MAIA_BENCH_CALLGRIND=/tmp/cg/new python bench/callgrind_serve.py serve --port P

Replaces itself with `valgrind --tool=callgrind --instr-atstart=no python -m maia_vectordb
...` (same pid), so a benchmark switches counting on and off around exactly the requests
it measures with `callgrind_control -i on|off PID` and reads the instructions executed
from a dump (`instructions`). Instruction counts do not move with the machine's load,
which CPU seconds on a shared VM do; the server runs ~50x slower meanwhile.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def instructions(pid: int, prefix: Path) -> int:
    """Instructions executed since the last call (or since counting was switched on):
    dumps the counters, which zeroes them, and reads the dump's total."""
    before = set(prefix.parent.glob(f"{prefix.name}.*"))
    subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True)
    (dump,) = set(prefix.parent.glob(f"{prefix.name}.*")) - before
    for line in dump.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {dump}")


def counting(pid: int, on: bool) -> None:
    subprocess.run(
        ["callgrind_control", "-i", "on" if on else "off", str(pid)],
        check=True,
        capture_output=True,
    )


def main() -> None:
    prefix = os.environ["MAIA_BENCH_CALLGRIND"]
    args = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
    args += [f"--callgrind-out-file={prefix}.%p", sys.executable, "-m", "maia_vectordb"]
    os.execvp("valgrind", [*args, *sys.argv[1:]])


if __name__ == "__main__":
    main()
