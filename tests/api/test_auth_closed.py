"""Open mode never starts by surprise: a server that needs keys stays closed without them."""

from __future__ import annotations

import argparse
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from maia_vectordb.app import create_app
from maia_vectordb.cli import keys as keys_cli
from maia_vectordb.config import Settings
from maia_vectordb.key_spec import WeakKey
from maia_vectordb.services import keys

# Keys committed for apps built with settings of their own, and the keys CLI.
pytestmark = pytest.mark.committed


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield client


def _closed_reasons(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [str(getattr(r, "reason", "")) for r in caplog.records if r.msg == "auth.closed"]


class TestStaysClosed:
    async def test_revoking_the_last_key_leaves_the_server_closed(
        self, settings: Settings, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with async_sessionmaker(engine)() as session, session.begin():
            key = await keys.create_key(session, project="ops")
            await keys.revoke_key(session, key_or_prefix=key)
        caplog.set_level(logging.WARNING)
        async with serving(settings) as client:
            anonymous = await client.get("/v1/vector_stores")
            revoked = await client.get(
                "/v1/vector_stores", headers={"authorization": f"Bearer {key}"}
            )
        assert anonymous.status_code == revoked.status_code == 401
        assert any("revoked" in reason for reason in _closed_reasons(caplog))

    async def test_bound_beyond_loopback_without_keys_is_closed(
        self, settings: Settings, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING)
        async with serving(settings.replace(HOST="0.0.0.0")) as client:
            response = await client.get("/v1/files")
        assert response.status_code == 401
        assert any("beyond loopback" in reason for reason in _closed_reasons(caplog))

    async def test_insecure_beyond_loopback_is_open(
        self, settings: Settings, engine: AsyncEngine
    ) -> None:
        insecure = settings.replace(HOST="0.0.0.0", MAIA_INSECURE=True)
        async with serving(insecure) as client:
            response = await client.get("/v1/files", headers={"host": "nas.lan:8000"})
        assert response.status_code == 200

    async def test_loopback_without_any_key_is_open(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/v1/files")).status_code == 200


class TestKeyLength:
    def test_short_key_in_settings_is_refused(self, settings: Settings) -> None:
        with pytest.raises(ValidationError, match="at least 16 characters"):
            Settings(MAIA_API_KEYS="ops:short", _env_file=None)  # type: ignore[call-arg]

    async def test_short_key_is_never_stored(self, engine: AsyncEngine) -> None:
        async with async_sessionmaker(engine)() as session, session.begin():
            with pytest.raises(WeakKey):
                await keys.add_key(session, project="ops", key="x")

    async def test_minted_keys_are_long_enough(self, engine: AsyncEngine) -> None:
        async with async_sessionmaker(engine)() as session, session.begin():
            assert len(await keys.create_key(session, project="ops")) >= 16


class TestSeededKeys:
    def test_one_key_for_two_projects_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="listed for projects 'a' and 'b'"):
            Settings(MAIA_API_KEYS="a:sk-shared-0000000001,b:sk-shared-0000000001", _env_file=None)  # type: ignore[call-arg]

    def test_one_key_listed_twice_for_one_project_is_one_key(self) -> None:
        from maia_vectordb.key_spec import parse_key_spec

        assert parse_key_spec("a:sk-twice-00000000001, a:sk-twice-00000000001") == [
            ("a", "sk-twice-00000000001")
        ]

    async def test_a_key_listed_for_another_project_keeps_its_own_and_says_so(
        self, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A restart must not move a key's data, nor undo a revocation, silently."""
        sessions = async_sessionmaker(engine)
        async with sessions() as session, session.begin():
            await keys.seed_keys(session, "alpha:sk-moving-key-000001,alpha:sk-revoked-key-00001")
            await keys.revoke_key(session, key_or_prefix="sk-revoked-key-00001")
        with caplog.at_level(logging.WARNING, logger="maia_vectordb.services.keys"):
            async with sessions() as session, session.begin():
                await keys.seed_keys(
                    session, "beta:sk-moving-key-000001,alpha:sk-revoked-key-00001"
                )
                listed = {k.prefix: k.project for k in await keys.list_keys(session)}
        assert listed["sk-moving-ke"] == "alpha"
        messages = {r.getMessage(): r.__dict__ for r in caplog.records}
        assert messages["keys.seed.other_project"]["opens"] == "alpha"
        assert messages["keys.seed.other_project"]["listed_for"] == "beta"
        assert "keys.seed.revoked" in messages


class TestKeysCommandWarnings:
    async def test_first_key_warns_that_open_mode_data_is_hidden(
        self,
        settings: Settings,
        client: httpx.AsyncClient,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        await client.post("/v1/vector_stores", json={"name": "made while open"})
        args = argparse.Namespace(keys_command="create", project="ops")
        await keys_cli.run(settings, args)
        assert "belong to project 'default'" in capsys.readouterr().err

    async def test_revoking_the_last_key_says_the_server_stays_closed(
        self, settings: Settings, engine: AsyncEngine, capsys: pytest.CaptureFixture[str]
    ) -> None:
        async with async_sessionmaker(engine)() as session, session.begin():
            key = await keys.create_key(session, project="ops")
        await keys_cli.run(settings, argparse.Namespace(keys_command="revoke", key=key))
        assert "stays closed" in capsys.readouterr().err
