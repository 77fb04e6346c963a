"""Scraping `/metrics` and reading samples back by name and labels."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
Scrape = Callable[[], Awaitable["Scraped"]]


class Scraped:
    """One exposition, parsed: `value(name, **labels)` sums every matching sample."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: Samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels: str) -> float:
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and wanted <= ls)

    def has(self, name: str) -> bool:
        return any(n == name for n, _ in self.samples)

    def labels(self, name: str, label: str) -> set[str]:
        return {dict(ls)[label] for n, ls in self.samples if n == name and label in dict(ls)}


@pytest.fixture
def scrape(client: httpx.AsyncClient) -> Scrape:
    async def run() -> Scraped:
        response = await client.get("/metrics")
        assert response.status_code == 200
        return Scraped(response.text)

    return run
