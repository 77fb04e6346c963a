"""The openai SDK's retry rules, as `embeddings.retry_policy` keeps them."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from maia_vectordb.embeddings.retry_policy import (
    MAX_RETRY_AFTER,
    retry_after_seconds,
    retry_delay,
    should_retry,
)

NOW = 1_800_000_000.0


def no_jitter() -> float:
    return 0.0


def full_jitter() -> float:
    return 1.0


class TestRetryAfter:
    def test_prefers_milliseconds(self) -> None:
        headers = {"retry-after-ms": "250", "retry-after": "7"}
        assert retry_after_seconds(headers) == 0.25

    def test_reads_fractional_seconds(self) -> None:
        assert retry_after_seconds({"retry-after": "1.5"}) == 1.5

    def test_reads_an_http_date(self) -> None:
        when = format_datetime(datetime.fromtimestamp(NOW + 30, UTC), usegmt=True)
        assert retry_after_seconds({"retry-after": when}, now=lambda: NOW) == 30.0

    @pytest.mark.parametrize("headers", [{}, {"retry-after": "soon"}, {"retry-after-ms": "x"}])
    def test_absent_or_unreadable_is_none(self, headers: dict[str, str]) -> None:
        assert retry_after_seconds(headers) is None

    def test_an_overflowing_number_is_an_excessive_delay(self) -> None:
        assert retry_after_seconds({"retry-after": "1e999"}) == MAX_RETRY_AFTER + 1


class TestShouldRetry:
    @pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503])
    def test_retries_timeouts_conflicts_rate_limits_and_server_errors(self, status: int) -> None:
        assert should_retry(status, {})

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
    def test_gives_up_on_other_client_errors(self, status: int) -> None:
        assert not should_retry(status, {})

    def test_the_server_can_say_yes(self) -> None:
        assert should_retry(400, {"x-should-retry": "true"})

    def test_the_server_can_say_no(self) -> None:
        assert not should_retry(503, {"x-should-retry": "false"})

    def test_a_wait_over_two_minutes_is_not_retried(self) -> None:
        assert not should_retry(429, {"retry-after": "121"})
        assert should_retry(429, {"retry-after": "120"})


class TestRetryDelay:
    def test_backs_off_exponentially_up_to_eight_seconds(self) -> None:
        delays = [retry_delay(n, jitter=no_jitter) for n in range(6)]
        assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]

    def test_jitter_takes_off_at_most_a_quarter(self) -> None:
        assert retry_delay(0, jitter=full_jitter) == 0.375

    def test_honours_the_servers_wait(self) -> None:
        assert retry_delay(3, {"retry-after": "0.2"}, jitter=no_jitter) == 0.2

    @pytest.mark.parametrize("value", ["0", "-1", "121"])
    def test_ignores_a_wait_outside_0_to_2_minutes(self, value: str) -> None:
        assert retry_delay(1, {"retry-after": value}, jitter=no_jitter) == 1.0
