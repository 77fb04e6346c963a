"""`serve` with no key and no provider: the built-in model, searching by meaning."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai import OpenAI

from tests.e2e.conftest import cli_env, free_port, run_cli, serving
from tests.shared_model import SHARED_MODEL, needs_model

pytestmark = pytest.mark.e2e


@needs_model
def test_no_configuration_searches_by_meaning(data_root: Path) -> None:
    # EMBEDDING_PROVIDER="" is unset; the files stand in for the first-start download.
    env = {"EMBEDDING_PROVIDER": "", "EMBEDDING_MODEL_PATH": str(SHARED_MODEL)}
    with serving(data_root / "data", **env) as base:
        client = OpenAI(base_url=f"{base}/v1", api_key="unused")
        store = client.vector_stores.create(name="notes")
        assert store.model_extra is not None
        assert store.model_extra["embedding_provider"] == "local"
        for name, body in (
            ("garage.txt", b"Fixing cars and trucks: brakes, engines, tyres."),
            ("kitchen.txt", b"Baking bread at home with flour, water and yeast."),
        ):
            done = client.vector_stores.files.upload_and_poll(
                vector_store_id=store.id, file=(name, body)
            )
            assert done.status == "completed"
        page = client.vector_stores.search(
            store.id, query="automobile repair", extra_body={"search_mode": "vector"}
        )
        assert page.data[0].filename == "garage.txt"
        client.close()


def test_offline_without_the_model_is_one_line(data_root: Path) -> None:
    env = cli_env(
        EMBEDDING_PROVIDER="",
        EMBEDDING_MODEL_URL=f"http://127.0.0.1:{free_port()}",
        MAIA_DATA_DIR=str(data_root / "data"),
    )
    result = run_cli("serve", "--port", str(free_port()), env=env, timeout=120)
    assert result.returncode == 1
    assert "EMBEDDING_MODEL_PATH" in result.stderr
    assert "Traceback" not in result.stderr
