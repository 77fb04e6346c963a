"""Structured logs: JSON lines and text with fields, one `http.request` line per request."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from maia_vectordb.config import Settings
from maia_vectordb.logging_setup import (
    QUIET_LOGGERS,
    JsonFormatter,
    TextFormatter,
    build_handler,
    configure_logging,
)

STORE_ROUTE = "/v1/vector_stores/{vector_store_id}"


class Captured:
    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def lines(self) -> list[str]:
        return [line for line in self.stream.getvalue().splitlines() if line]

    def json(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]

    def events(self, message: str) -> list[dict[str, Any]]:
        return [entry for entry in self.json() if entry["message"] == message]


@pytest.fixture
def root_logging() -> Iterator[logging.Logger]:
    """Put the root logger (and the quietened ones) back as they were."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name, _ in QUIET_LOGGERS}
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


def _capture(root: logging.Logger, fmt: str, level: int = logging.INFO) -> Captured:
    stream = io.StringIO()
    root.addHandler(build_handler(fmt, stream))
    root.setLevel(level)
    return Captured(stream)


@pytest.fixture
def json_logs(root_logging: logging.Logger) -> Captured:
    return _capture(root_logging, "json")


def _record(**extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {"name": "maia_vectordb.test", "levelname": "INFO", "levelno": 20, "msg": "thing.done"}
    )
    record.__dict__.update(extra)
    return record


class TestJsonLogs:
    async def test_request_lines_parse_and_carry_the_response_request_id(
        self, client: httpx.AsyncClient, json_logs: Captured
    ) -> None:
        response = await client.get("/v1/vector_stores/vs_nope")
        [line] = json_logs.events("http.request")
        assert line["request_id"] == response.headers["x-request-id"]
        assert line["level"] == "INFO"
        assert line["logger"] == "maia_vectordb.api.access"
        assert line["method"] == "GET"
        assert line["route"] == STORE_ROUTE
        assert line["status"] == 404
        assert isinstance(line["duration_ms"], float)
        assert line["ts"].endswith("+00:00")

    async def test_a_client_request_id_reaches_the_logs(
        self, client: httpx.AsyncClient, json_logs: Captured
    ) -> None:
        await client.get("/v1/vector_stores", headers={"x-request-id": "trace-42"})
        assert [e["request_id"] for e in json_logs.events("http.request")] == ["trace-42"]

    async def test_ingestion_names_the_request_that_queued_it(
        self, client: httpx.AsyncClient, json_logs: Captured
    ) -> None:
        """The worker runs outside any request, so the id comes stored with its job."""
        store = (await client.post("/v1/vector_stores", json={})).json()
        upload = await client.post(
            "/v1/files", files={"file": ("a.txt", b"hello there")}, data={"purpose": "assistants"}
        )
        body = {"file_id": upload.json()["id"]}
        attach = await client.post(f"/v1/vector_stores/{store['id']}/files", json=body)
        await _wait_for(json_logs, "ingest.file.completed")
        [done] = json_logs.events("ingest.file.completed")
        assert done["request_id"] == attach.headers["x-request-id"]
        assert done["vector_store_id"] == store["id"]
        assert done["chunks"] == 1

    async def test_probes_and_scrapes_are_logged_only_at_debug(
        self, client: httpx.AsyncClient, json_logs: Captured
    ) -> None:
        await client.get("/health")
        await client.get("/metrics")
        assert json_logs.events("http.request") == []

    def test_extras_never_overwrite_the_fixed_keys(self) -> None:
        line = json.loads(JsonFormatter().format(_record(level="fake", file_id="file-1")))
        assert line["level"] == "INFO"
        assert line["file_id"] == "file-1"

    def test_exceptions_and_odd_values_still_make_one_json_line(self) -> None:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            import sys

            record = _record(when=object(), exc_info=sys.exc_info())
        text = JsonFormatter().format(record)
        assert "\n" not in text
        line = json.loads(text)
        assert "RuntimeError: boom" in line["exc"]
        assert line["when"].startswith("<object object")


async def _wait_for(logs: Captured, message: str) -> None:
    import asyncio

    for _ in range(200):
        if logs.events(message):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{message} was never logged")


class TestTextLogs:
    def test_extras_follow_the_message_as_key_value_pairs(self) -> None:
        record = _record(request_id="req_1", file_id="file-1", note="two words", code=None)
        text = TextFormatter().format(record)
        assert text.endswith(' thing.done request_id=req_1 file_id=file-1 note="two words"')
        assert "INFO maia_vectordb.test" in text

    async def test_request_lines_carry_the_request_id(
        self, client: httpx.AsyncClient, root_logging: logging.Logger
    ) -> None:
        logs = _capture(root_logging, "text")
        response = await client.get("/v1/vector_stores")
        [line] = [x for x in logs.lines() if " http.request " in x]
        assert f"request_id={response.headers['x-request-id']}" in line
        assert "route=/v1/vector_stores status=200" in line


class TestConfigure:
    def test_json_format_replaces_the_root_handlers(self, root_logging: logging.Logger) -> None:
        configure_logging("WARNING", "json")
        [handler] = root_logging.handlers
        assert isinstance(handler.formatter, JsonFormatter)
        assert root_logging.level == logging.WARNING

    def test_uvicorn_access_log_gives_way_to_http_request(
        self, root_logging: logging.Logger
    ) -> None:
        configure_logging("INFO")
        assert not logging.getLogger("uvicorn.access").isEnabledFor(logging.INFO)
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)

    def test_unknown_format_is_refused(self) -> None:
        with pytest.raises(ValueError, match="log format"):
            build_handler("xml")

    def test_setting_accepts_any_case_and_rejects_unknown_formats(self) -> None:
        assert Settings(LOG_FORMAT="JSON", _env_file=None).log.format == "json"
        assert Settings(_env_file=None).log.format == "text"
        with pytest.raises(ValidationError):
            Settings(LOG_FORMAT="xml", _env_file=None)
