"""Health endpoints and the error envelope every response shares."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from maia_vectordb.errors import ErrorEnvelope


class TestLiveness:
    async def test_reports_ok(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}


class TestReadiness:
    async def test_ok_when_database_is_at_head(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health/ready")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ok"
        assert body["schema_revision"] == body["expected_revision"] is not None


class TestErrorEnvelope:
    async def test_unknown_route_is_openai_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/nope")
        assert response.status_code == 404
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert "/v1/nope" in error["message"]
        assert set(error) == {"message", "type", "param", "code"}

    async def test_responses_are_exactly_the_documented_envelope(
        self, client: httpx.AsyncClient
    ) -> None:
        sent = [
            await client.get("/v1/nope"),
            await client.post("/v1/vector_stores", json={"name": 5}),
            await client.get("/v1/vector_stores/vs_missing"),
        ]
        for response in sent:
            assert ErrorEnvelope.model_validate(response.json()).model_dump() == response.json()
        assert sent[1].json()["error"]["param"] == "name"

    async def test_openapi_declares_the_envelope_the_responses_use(
        self, client: httpx.AsyncClient
    ) -> None:
        document = (await client.get("/openapi.json")).json()
        declared = document["components"]["schemas"]["ErrorEnvelope"]
        model = ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
        assert declared == {k: v for k, v in model.items() if k != "$defs"}
        assert document["components"]["schemas"]["ErrorBody"] == model["$defs"]["ErrorBody"]
        ref = {"$ref": "#/components/schemas/ErrorEnvelope"}
        for path, operations in document["paths"].items():
            if path.startswith("/v1"):
                for operation in operations.values():
                    content = operation["responses"]["400"]["content"]
                    assert content["application/json"]["schema"] == ref

    async def test_wrong_method_is_405_envelope(self, client: httpx.AsyncClient) -> None:
        response = await client.delete("/health")
        assert response.status_code == 405
        assert response.json()["error"]["type"] == "invalid_request_error"

    async def test_every_response_has_a_request_id(self, client: httpx.AsyncClient) -> None:
        ok = await client.get("/health")
        missing = await client.get("/nope")
        assert ok.headers["x-request-id"].startswith("req_")
        assert missing.headers["x-request-id"] != ok.headers["x-request-id"]

    async def test_safe_client_request_id_is_echoed(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health", headers={"x-request-id": "abc-123"})
        assert response.headers["x-request-id"] == "abc-123"

    async def test_unsafe_client_request_id_is_replaced(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health", headers={"x-request-id": "a b\tc"})
        assert response.headers["x-request-id"].startswith("req_")


class TestUnhandledErrors:
    async def test_crash_is_500_envelope_without_traceback(self, app: object) -> None:
        from fastapi import FastAPI

        assert isinstance(app, FastAPI)

        @app.get("/boom")
        async def boom() -> None:
            raise RuntimeError("secret internals")

        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            response = await client.get("/boom")
        assert response.status_code == 500
        assert response.json()["error"]["type"] == "server_error"
        assert "secret internals" not in response.text
        assert "Traceback" not in response.text
        assert response.headers["x-request-id"].startswith("req_")


class TestBodyLimits:
    async def test_declared_oversized_json_is_413(self, client: httpx.AsyncClient) -> None:
        body = b'{"name": "' + b"x" * (5 * 1024 * 1024) + b'"}'
        response = await client.post(
            "/v1/vector_stores", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json()["error"]["type"] == "invalid_request_error"

    async def test_streamed_oversized_json_is_413(self, client: httpx.AsyncClient) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"name": "'
            for _ in range(80):
                yield b"x" * 65536
            yield b'"}'

        response = await client.post(
            "/v1/vector_stores", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
