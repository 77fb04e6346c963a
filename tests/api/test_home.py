"""What a person meets opening the server in a browser: a pointer, and docs that load offline."""

from __future__ import annotations

import re

import httpx
import pytest


class TestIndex:
    async def test_root_points_at_the_docs_and_health(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/")
        assert response.status_code == 200
        body = response.json()
        assert body["docs"] == "/docs"
        assert body["health"] == "/health"
        assert body["api"] == "/v1"


class TestOfflineDocs:
    @pytest.mark.parametrize("page", ["/docs", "/redoc"])
    async def test_page_loads_every_asset_from_this_server(
        self, client: httpx.AsyncClient, page: str
    ) -> None:
        html = (await client.get(page)).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets, html
        assert not [a for a in assets if a.startswith(("http:", "https:", "//"))]
        for asset in assets:
            served = await client.get(asset)
            assert served.status_code == 200, asset
            assert len(served.content) > 0
