"""The official `openai` SDK against a live `maia-vectordb serve`, over real HTTP."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from tests.e2e.conftest import serving
from tests.fakes.documents import make_docx, make_pdf, make_pptx

pytestmark = pytest.mark.e2e

SAMPLES: dict[str, bytes] = {
    "notes.txt": b"Plain text about parental leave policies.",
    "guide.md": b"# Guide\n\nMarkdown about vacation days.",
    "script.py": b"def pension():\n    return 'retirement plan'\n",
    "data.json": json.dumps({"topic": "health insurance"}).encode(),
    "page.html": b"<html><body><h1>Remote work</h1><script>x()</script></body></html>",
    "utf16.txt": "Überstunden policy text".encode("utf-16"),
    "report.pdf": make_pdf("Quarterly bonus report", "Second page on stock options"),
    "memo.docx": make_docx("Memo on sick leave", [["days", "10"]]),
    "deck.pptx": make_pptx(["Slides on training budget"], [["budget", "5000"]]),
}


@pytest.fixture(scope="module")
def client() -> Iterator[OpenAI]:
    with (
        tempfile.TemporaryDirectory(prefix="maia-e2e-") as tmp,
        serving(Path(tmp) / "data") as base,
    ):
        sdk = OpenAI(base_url=f"{base}/v1", api_key="sk-anything", max_retries=0)
        yield sdk
        sdk.close()


class TestEverySupportedType:
    @pytest.mark.parametrize("name", sorted(SAMPLES))
    def test_upload_and_poll_completes(self, client: OpenAI, name: str) -> None:
        store = client.vector_stores.create(name=f"type-{name}")
        done = client.vector_stores.files.upload_and_poll(
            vector_store_id=store.id, file=(name, SAMPLES[name])
        )
        assert done.status == "completed", done.last_error
        text = "".join(
            part.text or ""
            for part in client.vector_stores.files.content(
                file_id=done.id, vector_store_id=store.id
            )
        )
        assert text.strip()


class TestWalkthrough:
    def test_batch_of_50_then_search_then_delete(self, client: OpenAI) -> None:
        store = client.vector_stores.create(name="walkthrough", metadata={"env": "e2e"})
        files = [(f"doc{i}.txt", f"document {i} about topic{i % 5}".encode()) for i in range(50)]
        batch = client.vector_stores.file_batches.upload_and_poll(
            vector_store_id=store.id, files=files
        )
        assert batch.status == "completed"
        assert batch.file_counts.completed == 50
        listed = list(
            client.vector_stores.file_batches.list_files(
                batch_id=batch.id, vector_store_id=store.id, limit=20
            )
        )
        assert len(listed) == 50
        hits = client.vector_stores.search(
            vector_store_id=store.id,
            query="topic3",
            max_num_results=5,
            ranking_options={"ranker": "auto", "score_threshold": 0.0},
            rewrite_query=False,
            extra_body={"search_mode": "hybrid"},
        )
        assert hits.data
        assert all("topic3" in hit.content[0].text for hit in hits.data)
        assert client.vector_stores.delete(store.id).deleted
        with pytest.raises(openai.NotFoundError):
            client.vector_stores.retrieve(store.id)

    def test_cancel_a_batch(self, client: OpenAI) -> None:
        store = client.vector_stores.create(name="cancel")
        ids = [
            client.files.create(file=(f"c{i}.txt", b"x " * 5000), purpose="assistants").id
            for i in range(30)
        ]
        batch = client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=ids)
        cancelled = client.vector_stores.file_batches.cancel(
            batch_id=batch.id, vector_store_id=store.id
        )
        assert cancelled.status == "cancelled"
        assert cancelled.file_counts.in_progress == 0
        assert cancelled.file_counts.total == 30

    def test_pagination_over_250_items(self, client: OpenAI) -> None:
        store = client.vector_stores.create(name="paging")
        ids = [
            client.files.create(file=(f"p{i}.txt", f"p{i}".encode()), purpose="user_data").id
            for i in range(250)
        ]
        client.vector_stores.file_batches.create_and_poll(
            vector_store_id=store.id, file_ids=ids[:200]
        )
        client.vector_stores.file_batches.create_and_poll(
            vector_store_id=store.id, file_ids=ids[200:]
        )
        attached = [
            f.id for f in client.vector_stores.files.list(vector_store_id=store.id, limit=100)
        ]
        assert sorted(attached) == sorted(ids)
        uploaded = [f.id for f in client.files.list(purpose="user_data", limit=100)]
        assert sorted(uploaded) == sorted(ids)
        for file_id in ids[:10]:
            assert client.files.delete(file_id).deleted
        assert client.vector_stores.retrieve(store.id).file_counts.total == 240

    def test_errors_are_sdk_exceptions(self, client: OpenAI) -> None:
        with pytest.raises(openai.NotFoundError):
            client.files.retrieve("file-nope")
        with pytest.raises(openai.BadRequestError) as caught:
            client.vector_stores.create(metadata={f"k{i}": "v" for i in range(17)})
        assert caught.value.body["param"] == "metadata"  # type: ignore[index]
