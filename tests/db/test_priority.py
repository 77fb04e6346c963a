"""A `worker` process and its embedded PostgreSQL backends run at a lower priority."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from maia_vectordb.db.priority import lower_backend_priority


async def test_backends_of_the_engine_are_reniced(migrated_url: str) -> None:
    lowered = create_async_engine(migrated_url)
    plain = create_async_engine(migrated_url)
    lower_backend_priority(lowered, 7)
    try:
        async with lowered.connect() as conn, plain.connect() as other:
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
            other_pid = await other.scalar(text("SELECT pg_backend_pid()"))
        assert os.getpriority(os.PRIO_PROCESS, pid) == 7
        assert os.getpriority(os.PRIO_PROCESS, other_pid) < 7
    finally:
        await lowered.dispose()
        await plain.dispose()


def test_every_thread_and_every_later_thread_is_lowered() -> None:
    """Linux keeps a nice value per thread: a thread started before the call is lowered
    too, and one started after inherits it."""
    script = textwrap.dedent(
        """
        import os, threading
        from maia_vectordb.db.priority import lower_own_priority

        def nice():
            return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

        seen = {}
        go = threading.Event()
        def early():
            go.wait()
            seen["early"] = nice()
        thread = threading.Thread(target=early)
        thread.start()
        lower_own_priority(6)
        go.set()
        thread.join()
        later = threading.Thread(target=lambda: seen.__setitem__("later", nice()))
        later.start()
        later.join()
        print(nice(), seen["early"], seen["later"])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["6", "6", "6"]
