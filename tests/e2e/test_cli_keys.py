"""`maia-vectordb keys ...` and the refusal to expose a keyless server."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from maia_vectordb.services import keys
from tests.e2e.conftest import cli_env, free_port, run_cli, serving

pytestmark = pytest.mark.e2e


class TestKeysCommand:
    async def test_create_list_revoke(self, migrated_url: str, engine: AsyncEngine) -> None:
        env = cli_env(DATABASE_URL=migrated_url)
        created = run_cli("keys", "create", "--project", "ops", env=env, timeout=60)
        assert created.returncode == 0, created.stderr
        key = created.stdout.splitlines()[0]
        assert key.startswith("sk-maia-")
        assert await keys.authenticate(async_sessionmaker(engine), key)
        listed = run_cli("keys", "list", env=env, timeout=60)
        assert key[:12] in listed.stdout
        assert key not in listed.stdout
        assert "ops" in listed.stdout
        revoked = run_cli("keys", "revoke", key[:12], env=env, timeout=60)
        assert revoked.returncode == 0, revoked.stderr
        assert "revoked" in run_cli("keys", "list", env=env, timeout=60).stdout
        again = run_cli("keys", "revoke", key[:12], env=env, timeout=60)
        assert again.returncode != 0


class TestExposure:
    def test_refuses_non_loopback_without_keys(self, migrated_url: str, data_root: Path) -> None:
        env = cli_env(DATABASE_URL=migrated_url, MAIA_DATA_DIR=str(data_root))
        result = run_cli(
            "serve", "--host", "0.0.0.0", "--port", str(free_port()), env=env, timeout=60
        )
        assert result.returncode != 0
        assert "refusing to serve on 0.0.0.0 without API keys" in result.stderr
        assert "--insecure" in result.stderr

    def test_seeded_keys_allow_non_loopback(
        self, migrated_url: str, data_root: Path, engine: AsyncEngine
    ) -> None:
        """`engine` is requested so the seeded key is cleaned up after the test."""
        with serving(
            data_root,
            "--host",
            "0.0.0.0",
            DATABASE_URL=migrated_url,
            MAIA_API_KEYS="ops:sk-maia-seeded-ops-01",
        ) as base:
            denied = httpx.get(f"{base}/v1/vector_stores", timeout=10)
            allowed = httpx.get(
                f"{base}/v1/vector_stores",
                timeout=10,
                headers={"Authorization": "Bearer sk-maia-seeded-ops-01"},
            )
        assert denied.status_code == 401
        assert allowed.status_code == 200

    def test_revoking_the_last_key_keeps_a_non_loopback_server_closed(
        self, migrated_url: str, data_root: Path, engine: AsyncEngine
    ) -> None:
        key = "sk-maia-revoked-ops-01"
        env = cli_env(DATABASE_URL=migrated_url)
        with serving(
            data_root, "--host", "0.0.0.0", DATABASE_URL=migrated_url, MAIA_API_KEYS=key
        ) as base:
            revoked = run_cli("keys", "revoke", key, env=env, timeout=60)
            assert "stays closed" in revoked.stderr
            time.sleep(2.5)  # the server re-reads the key table every 2 s
            anonymous = httpx.get(f"{base}/v1/vector_stores", timeout=10)
            with_old_key = httpx.get(
                f"{base}/v1/vector_stores", timeout=10, headers={"Authorization": f"Bearer {key}"}
            )
        assert anonymous.status_code == with_old_key.status_code == 401
