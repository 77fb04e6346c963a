"""Settings: flat environment variable names (the public contract) read into typed groups."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from maia_vectordb.cli.common import load_settings
from maia_vectordb.config import IngestSettings, Settings

ENV_EXAMPLE = Path(__file__).parents[1] / ".env.example"


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No variable the service reads, and no `.env` in the working directory."""
    for name in Settings.env_names():
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


class TestReading:
    def test_each_variable_reaches_its_group(self, environ: pytest.MonkeyPatch) -> None:
        environ.setenv("DATABASE_URL", "postgres://u@db.example/maia")
        environ.setenv("EMBEDDING_PROVIDER", "hash")
        environ.setenv("INGEST_WORKERS", "7")
        environ.setenv("SEARCH_EF_SEARCH", "300")
        environ.setenv("MAX_UPLOAD_BYTES", "1000")
        environ.setenv("LOG_FORMAT", "json")
        settings = Settings()
        assert settings.database.url == "postgresql+asyncpg://u@db.example/maia"
        assert settings.embeddings.resolved_provider == "hash"
        assert settings.ingest.workers == 7
        assert settings.search.ef_search == 300
        assert settings.http.max_upload_bytes == 1000
        assert settings.log.format == "json"

    def test_names_are_case_insensitive(self, environ: pytest.MonkeyPatch) -> None:
        environ.setenv("ingest_workers", "4")
        assert Settings().ingest.workers == 4

    def test_dotenv_file_is_read_below_the_environment(
        self, environ: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        (tmp_path / ".env").write_text("INGEST_WORKERS=5\nSEARCH_CACHE_SIZE=9\nHOST=0.0.0.0\n")
        environ.setenv("SEARCH_CACHE_SIZE", "11")
        settings = Settings(HOST="::1")
        assert settings.ingest.workers == 5
        assert settings.search.cache_size == 11
        assert settings.http.host == "::1"

    def test_env_file_none_skips_dotenv(self, environ: pytest.MonkeyPatch, tmp_path: Path) -> None:
        (tmp_path / ".env").write_text("INGEST_WORKERS=5\n")
        assert Settings(_env_file=None).ingest.workers == IngestSettings().workers

    def test_unknown_variables_are_ignored(
        self, environ: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        (tmp_path / ".env").write_text("POSTGRES_PASSWORD=secret\nMAIA_PORT=8000\n")
        environ.setenv("SOMETHING_ELSE", "x")
        assert Settings(NOT_A_SETTING=1) == Settings(_env_file=None)

    def test_data_dir_holds_database_and_model_cache(self, environ: pytest.MonkeyPatch) -> None:
        environ.setenv("MAIA_DATA_DIR", "/srv/maia")
        settings = Settings()
        assert settings.database.pgdata == Path("/srv/maia/pgdata")
        assert settings.embeddings.model_cache_dir == Path("/srv/maia/models")

    def test_every_variable_is_documented_in_env_example(self) -> None:
        documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))
        assert Settings.env_names() <= documented


class TestValidation:
    def test_openai_provider_without_key_or_server_is_refused(
        self, environ: pytest.MonkeyPatch
    ) -> None:
        with pytest.raises(ValidationError, match="needs OPENAI_API_KEY"):
            Settings(EMBEDDING_PROVIDER="openai", _env_file=None)

    def test_keyless_openai_compatible_server_is_accepted(
        self, environ: pytest.MonkeyPatch
    ) -> None:
        settings = Settings(EMBEDDING_PROVIDER="openai", EMBEDDING_BASE_URL="http://e:1/v1")
        assert settings.embeddings.openai_configured

    def test_beyond_loopback_needs_keys_unless_insecure(self, environ: pytest.MonkeyPatch) -> None:
        assert not Settings().http.needs_keys
        assert Settings(HOST="0.0.0.0").http.needs_keys
        assert not Settings(HOST="0.0.0.0", MAIA_INSECURE="true").http.needs_keys

    def test_bad_values_are_one_line_each_naming_the_variable(
        self, environ: pytest.MonkeyPatch
    ) -> None:
        environ.setenv("DB_POOL_SIZE", "0")
        environ.setenv("DATABASE_URL", "mysql://x")
        with pytest.raises(SystemExit) as exited:
            load_settings()
        lines = str(exited.value.code).splitlines()
        assert lines[0] == "invalid configuration:"
        assert sorted(line.split(":")[0].strip() for line in lines[1:]) == [
            "DATABASE_URL",
            "DB_POOL_SIZE",
        ]

    def test_groups_are_immutable(self, environ: pytest.MonkeyPatch) -> None:
        settings = Settings()
        with pytest.raises(ValidationError):
            settings.ingest.workers = 0  # type: ignore[misc]


class TestReplace:
    def test_changes_the_named_variables_and_keeps_the_rest(
        self, environ: pytest.MonkeyPatch
    ) -> None:
        settings = Settings(EMBEDDING_PROVIDER="hash", SEARCH_CACHE_SIZE=7)
        aimed = settings.replace(DATABASE_URL="postgresql://u@h/db", INGEST_WORKERS=0)
        assert aimed.database.url == "postgresql+asyncpg://u@h/db"
        assert aimed.ingest.workers == 0
        assert aimed.search.cache_size == 7
        assert aimed.embeddings == settings.embeddings
        assert settings.database.url is None

    def test_validates_again(self, environ: pytest.MonkeyPatch) -> None:
        with pytest.raises(ValidationError, match="DB_POOL_SIZE"):
            Settings().replace(DB_POOL_SIZE=0)

    def test_refuses_names_it_does_not_read(self, environ: pytest.MonkeyPatch) -> None:
        with pytest.raises(TypeError, match="workers"):
            Settings().replace(workers=0)

    def test_round_trips_through_variable_names(self, environ: pytest.MonkeyPatch) -> None:
        settings = Settings(MAIA_API_KEYS="sk-round-trip-0001", MAIA_DATA_DIR="/d")
        assert Settings.model_validate(settings.to_env()) == settings

    def test_model_copy_refuses_flat_names_pydantic_would_store_unseen(
        self, environ: pytest.MonkeyPatch
    ) -> None:
        settings = Settings()
        with pytest.raises(TypeError, match="replace"):
            settings.model_copy(update={"workers": 0})
        swapped = settings.model_copy(update={"ingest": IngestSettings(workers=0)})
        assert swapped.ingest.workers == 0
