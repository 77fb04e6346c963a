"""Whether requests must carry a key, and why a server with no usable key stays closed.

Open (keyless) mode is for a loopback server that never had a key. Once any key
was registered, or when the server is bound beyond loopback without
`--insecure`, every request needs a valid key: revoking the last one leaves the
server closed (401 for all) and says so in the log, never silently open.

The answer is cached for a moment so an open server does not query the keys
table on every request, yet a key created with the CLI while the server runs
locks it within `ttl` seconds.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from maia_vectordb.services import keys

log = logging.getLogger(__name__)


@dataclass
class AuthGate:
    sessionmaker: async_sessionmaker[AsyncSession]
    needs_keys: bool = False
    """Bound beyond loopback without --insecure: closed even before the first key."""
    ttl: float = 2.0
    _required: bool = field(default=False, init=False)
    _closed_reason: str | None = field(default=None, init=False)
    _checked_at: float = field(default=float("-inf"), init=False)

    async def required(self) -> bool:
        now = time.monotonic()
        if now - self._checked_at >= self.ttl:
            async with self.sessionmaker() as session:
                active, ever = await keys.key_counts(session)
            self._required = self.needs_keys or ever > 0
            self._note_closed(self._closed_because(active, ever))
            self._checked_at = now
        return self._required

    def _closed_because(self, active: int, ever: int) -> str | None:
        if active:
            return None
        if ever:
            return "every API key is revoked; create one with `maia-vectordb keys create`"
        if self.needs_keys:
            return "bound beyond loopback and no API key exists"
        return None

    def _note_closed(self, reason: str | None) -> None:
        """Log once per change, not once per request."""
        if reason is not None and reason != self._closed_reason:
            log.warning("auth.closed", extra={"reason": reason})
        self._closed_reason = reason
