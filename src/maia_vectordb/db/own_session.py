"""A connection for a housekeeping pass that holds session state (an advisory lock).

Pooled connections go back to the pool with a ROLLBACK, which ends no session-level
advisory lock: a pass interrupted between taking its lock and releasing it would leave
the lock held by an idle pooled connection, and every later pass in the deployment
would find it taken. So on any exception, cancellation included, the connection is
invalidated (its session ends, and the lock with it) rather than returned.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


@contextlib.asynccontextmanager
async def own_session(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    conn = await engine.connect()
    try:
        yield conn
    except BaseException:
        # Nothing here may replace the original exception: a cancellation turned into
        # an error would keep the job running.
        with contextlib.suppress(Exception):
            await conn.invalidate()
        raise
    finally:
        with contextlib.suppress(Exception):
            await conn.close()
