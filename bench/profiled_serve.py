"""`maia-vectordb` under cProfile, on at SIGUSR1 and off at SIGUSR2 (benchmarks only).

    MAIA_BENCH_PROFILE=/tmp/prof python bench/profiled_serve.py serve --port P

SIGUSR1 starts profiling the event loop's thread by its CPU time; SIGUSR2 stops it and
writes `<MAIA_BENCH_PROFILE>.<n>.prof` (n = 0, 1, ...), so a benchmark profiles exactly
the searches it times, not the start-up. Only the main thread is profiled: that is where
the event loop, the request handling and the database driver run. cProfile's own cost
inflates small, frequent calls: read it for where the time goes, not for how much.
"""

from __future__ import annotations

import cProfile
import os
import runpy
import signal
import sys
import time


class Toggle:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.profile: cProfile.Profile | None = None
        self.written = 0

    def start(self, _signum: int, _frame: object) -> None:
        if self.profile is None:
            # CPU time of this thread: time spent waiting for the network is not the server's.
            self.profile = cProfile.Profile(time.thread_time)
            self.profile.enable()

    def stop(self, _signum: int, _frame: object) -> None:
        if self.profile is None:
            return
        self.profile.disable()
        self.profile.dump_stats(f"{self.prefix}.{self.written}.prof")
        self.written += 1
        self.profile = None


def main() -> None:
    toggle = Toggle(os.environ["MAIA_BENCH_PROFILE"])
    signal.signal(signal.SIGUSR1, toggle.start)
    signal.signal(signal.SIGUSR2, toggle.stop)
    sys.argv = ["maia_vectordb", *sys.argv[1:]]
    runpy.run_module("maia_vectordb", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
