"""When to retry an embeddings request and how long to wait: the openai SDK's rules.

The server's client speaks HTTP itself (`embeddings.http_client`) because the SDK
costs a few milliseconds of CPU per call, which a search pays for every new query. These
are the SDK's retry rules (openai-python `_base_client`), so a provider sees the same
behaviour either way:

- retry 408, 409, 429 and 5xx, and connection errors and timeouts;
- a server's `x-should-retry: true|false` overrides the status;
- wait what `retry-after-ms` or `retry-after` (seconds or an HTTP date) asks, when it
  is more than 0 and at most two minutes; never retry when it asks for longer;
- otherwise back off 0.5 s, 1 s, 2 s ... up to 8 s, each less a random 0-25 %.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 120.0
RETRYABLE_STATUSES = frozenset({408, 409, 429})
INFINITY_LITERALS = frozenset({"inf", "+inf", "infinity", "+infinity"})


def retry_after_seconds(
    headers: Mapping[str, str], *, now: Callable[[], float] = time.time
) -> float | None:
    """What the server asked us to wait, if it said: milliseconds first, then seconds
    (floats allowed), then an HTTP date."""
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            delay = float(value)
        except ValueError:
            continue
        if math.isinf(delay) and value.strip().lower() not in INFINITY_LITERALS:
            return MAX_RETRY_AFTER + 1  # "1e999": an excessive delay, not a malformed value
        return delay / divisor
    return _retry_after_date(headers.get("retry-after"), now())


def _retry_after_date(value: str | None, now: float) -> float | None:
    if value is None:
        return None
    try:
        parsed = email.utils.parsedate_tz(value)
        return None if parsed is None else float(email.utils.mktime_tz(parsed) - now)
    except (TypeError, ValueError, OverflowError):
        return None


def status_is_retryable(status: int) -> bool:
    """The statuses that are worth another attempt (and later, a retry of the job)."""
    return status in RETRYABLE_STATUSES or status >= 500


def should_retry(status: int, headers: Mapping[str, str]) -> bool:
    """Whether an error response is worth another attempt."""
    wait = retry_after_seconds(headers)
    if wait is not None and math.isfinite(wait) and wait > MAX_RETRY_AFTER:
        return False
    explicit = headers.get("x-should-retry")
    if explicit in ("true", "false"):
        return explicit == "true"
    return status_is_retryable(status)


def retry_delay(
    retries_taken: int,
    headers: Mapping[str, str] | None = None,
    *,
    jitter: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number `retries_taken + 1`."""
    wait = retry_after_seconds(headers) if headers is not None else None
    if wait is not None and math.isfinite(wait) and 0 < wait <= MAX_RETRY_AFTER:
        return wait
    backoff = min(INITIAL_RETRY_DELAY * 2.0 ** min(retries_taken, 1000), MAX_RETRY_DELAY)
    return max(backoff * (1 - 0.25 * jitter()), 0.0)
