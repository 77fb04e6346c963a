"""Whether requests must carry a key: yes as soon as any active key exists.

The answer is cached for a moment so an open (loopback, keyless) server does not
query the keys table on every request, yet a key created with the CLI while the
server runs locks it within `ttl` seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from maia_vectordb.services import keys


@dataclass
class AuthGate:
    sessionmaker: async_sessionmaker[AsyncSession]
    ttl: float = 2.0
    _required: bool = field(default=False, init=False)
    _checked_at: float = field(default=float("-inf"), init=False)

    async def required(self) -> bool:
        now = time.monotonic()
        if now - self._checked_at >= self.ttl:
            async with self.sessionmaker() as session:
                self._required = await keys.active_key_count(session) > 0
            self._checked_at = now
        return self._required
