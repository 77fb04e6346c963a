"""Settings, read once from the environment and `.env`, then passed explicitly.

The environment variable names are the public contract (README, `.env.example`,
Dockerfile, compose) and stay flat; inside, they are grouped so each part of the
service takes only its own group: `database`, `embeddings`, `ingest`, `search`,
`http`, `log`. A group field's alias is its variable, and `Settings` folds the
flat names into their groups, from the environment, `.env` and keyword arguments
alike (`flat_env`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from maia_vectordb import flat_env
from maia_vectordb.key_spec import parse_key_spec

EmbeddingProvider = Literal["openai", "local", "hash"]
LogFormat = Literal["text", "json"]


def is_loopback(host: str) -> bool:
    """Whether `host` (a bind address) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_data_dir() -> Path:
    """A per-user directory, so `serve` works with no configuration at all."""
    return Path(platformdirs.user_data_dir("maia-vectordb"))


def normalise_database_url(url: str) -> str:
    """Accept the `postgresql://` URLs people copy around and aim them at asyncpg."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("must start with postgresql:// (or postgresql+asyncpg://)")


def _blank_is_none(value: object) -> object:
    return value or None


class Group(BaseModel):
    """One settings group: immutable, built by field name or by environment variable name."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")


class DatabaseSettings(Group):
    """Where the data lives and how the pools reach it."""

    url: str | None = Field(default=None, alias="DATABASE_URL")
    """Unset: the embedded PostgreSQL under `data_dir`."""
    search_url: str | None = Field(default=None, alias="SEARCH_DATABASE_URL")
    """A read replica for searches; writes (and everything else) use DATABASE_URL."""
    data_dir: Path = Field(default_factory=default_data_dir, alias="MAIA_DATA_DIR")
    pool_size: int = Field(default=10, ge=1, le=200, alias="DB_POOL_SIZE")
    max_overflow: int = Field(default=10, ge=0, le=200, alias="DB_MAX_OVERFLOW")
    pool_timeout: float = Field(default=10.0, gt=0, alias="DB_POOL_TIMEOUT")
    pool_recycle: int = Field(default=1800, ge=-1, alias="DB_POOL_RECYCLE")
    connect_timeout: float = Field(default=10.0, gt=0, le=60, alias="DB_CONNECT_TIMEOUT")

    @field_validator("url", "search_url", mode="before")
    @classmethod
    def _normalise_url(cls, value: object) -> object:
        if isinstance(value, str):
            return normalise_database_url(value.strip()) if value.strip() else None
        return value

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    def describe(self) -> str:
        """Where the data lives, without a password, for the start-up log."""
        if self.url is None:
            return f"embedded PostgreSQL at {self.pgdata}"
        from sqlalchemy.engine import make_url

        url = make_url(self.url)
        return f"PostgreSQL {url.host or 'localhost'}:{url.port or 5432}/{url.database}"


class EmbeddingSettings(Group):
    """Which models embed, and how the OpenAI client and the local model run."""

    openai_api_key: SecretStr | None = Field(default=None, alias="OPENAI_API_KEY")
    provider: EmbeddingProvider | None = Field(default=None, alias="EMBEDDING_PROVIDER")
    base_url: str | None = Field(default=None, alias="EMBEDDING_BASE_URL")
    model: str = Field(default="text-embedding-3-small", alias="EMBEDDING_MODEL")
    dimensions: int = Field(default=1536, ge=1, le=4000, alias="EMBEDDING_DIMENSIONS")
    concurrency: int = Field(default=4, ge=1, le=64, alias="EMBEDDING_CONCURRENCY")
    max_retries: int = Field(default=6, ge=0, le=20, alias="EMBEDDING_MAX_RETRIES")
    timeout: float = Field(default=60.0, gt=0, alias="EMBEDDING_TIMEOUT")
    model_path: Path | None = Field(default=None, alias="EMBEDDING_MODEL_PATH")
    """A directory holding the local model's `model.onnx` + `tokenizer.json` (no download)."""
    model_url: str = Field(
        default="https://chroma-onnx-models.s3.amazonaws.com/all-MiniLM-L6-v2/onnx.tar.gz",
        alias="EMBEDDING_MODEL_URL",
    )
    """The local model's archive, downloaded on first use and checked against its pinned
    SHA-256 (a mirror must serve the same bytes)."""
    local_threads: int = Field(default=2, ge=1, le=64, alias="EMBEDDING_LOCAL_THREADS")
    """onnxruntime threads for one local inference; one inference runs at a time."""
    data_dir: Path = Field(default_factory=default_data_dir, alias="MAIA_DATA_DIR")
    """Shared with `database`: downloaded model files live beside the embedded database."""

    _blanks = field_validator("provider", "model_path", mode="before")(_blank_is_none)

    @model_validator(mode="after")
    def _check_provider(self) -> Self:
        if self.provider == "openai" and not self.openai_configured:
            raise ValueError(
                "EMBEDDING_PROVIDER=openai needs OPENAI_API_KEY (or EMBEDDING_BASE_URL "
                "for a keyless OpenAI-compatible server)"
            )
        return self

    @property
    def resolved_provider(self) -> EmbeddingProvider:
        """`openai` when a key is configured, else the built-in ONNX model, so `serve` with no
        configuration searches by meaning."""
        if self.provider is not None:
            return self.provider
        if self.openai_api_key is not None:
            return "openai"
        return "local"

    @property
    def openai_configured(self) -> bool:
        """A key or a keyless OpenAI-compatible server: the `openai` provider can run."""
        return self.openai_api_key is not None or self.base_url is not None

    @property
    def model_cache_dir(self) -> Path:
        """Where downloaded local model files live, beside the embedded database."""
        return self.data_dir / "models"


class IngestSettings(Group):
    """The ingestion workers, their job queue, and the limits one parse may not pass."""

    workers: int = Field(default=2, ge=0, le=64, alias="INGEST_WORKERS")
    """Two. While BM25 postings were written with the chunks, three gave 15-40 % more
    chunks/s on two cores but pushed searches during an ingest past 2x their idle p50
    ("Issue 10, sixth pass" in docs/benchmarks.md); since they are written after the
    load, two already keep both cores busy (1,041-1,424 chunks/s) and three gave the
    same (1,223; "seventh pass"). More cores may want more."""
    max_attempts: int = Field(default=5, ge=1, le=50, alias="INGEST_MAX_ATTEMPTS")
    lease_seconds: int = Field(default=30, ge=3, le=3600, alias="INGEST_LEASE_SECONDS")
    retry_base_seconds: float = Field(
        default=2.0, ge=0.01, le=600, alias="INGEST_RETRY_BASE_SECONDS"
    )
    poll_interval: float = Field(default=0.5, gt=0, le=60, alias="INGEST_POLL_INTERVAL")
    batch_files: int = Field(default=512, ge=1, le=2048, alias="INGEST_BATCH_FILES")
    """Jobs one worker claims at once: their chunks share embedding requests and one commit."""
    batch_bytes: int = Field(default=1024 * 1024, ge=1024, alias="INGEST_BATCH_BYTES")
    """A claim stops adding files past this many uploaded bytes (the first always counts)."""
    max_text_chars: int = Field(default=32_000_000, ge=1000, alias="INGEST_MAX_TEXT_CHARS")
    """Text one file may yield, every format (OpenAI's 5M-token file limit is ~20M chars)."""
    max_inflated_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1024 * 1024, alias="INGEST_MAX_INFLATED_BYTES"
    )
    """What a .docx/.pptx may inflate to, checked from its zip directory and while reading."""
    max_compression_ratio: float = Field(default=100.0, ge=2, alias="INGEST_MAX_COMPRESSION_RATIO")
    max_pdf_pages: int = Field(default=5000, ge=1, alias="INGEST_MAX_PDF_PAGES")
    parse_timeout: float = Field(default=120.0, gt=0, alias="INGEST_PARSE_TIMEOUT")
    worker_nice: int = Field(default=10, ge=0, le=19, alias="INGEST_WORKER_NICE")
    """The scheduling priority (nice value) of a `maia-vectordb worker` process and of its
    embedded PostgreSQL backends, so searches keep their cores during a heavy ingest
    (db/priority.py); 0 runs them as the API runs."""


class SearchSettings(Group):
    """How searches use the HNSW indexes, when a store gets one, and the query cache."""

    index_min_chunks: int = Field(default=10_000, ge=1, alias="VECTOR_INDEX_MIN_CHUNKS")
    """A store this large gets its own HNSW index once its queue drains; smaller ones are
    searched exactly (db/vector_indexes.py)."""
    index_build_memory: str = Field(
        default="1GB", pattern=r"^[1-9][0-9]*(kB|MB|GB)$", alias="VECTOR_INDEX_BUILD_MEMORY"
    )
    """`maintenance_work_mem` for a build: an HNSW graph that fits builds several times faster."""
    keyword_max_pending: int = Field(
        default=50_000, ge=1, le=100_000_000, alias="KEYWORD_INDEX_MAX_PENDING"
    )
    """A store's new chunks get their BM25 postings once its queue drains, or sooner when
    this many wait (ingest/keyword_indexer.py). Until then keyword search reads them from
    their tsvectors, 5-10 µs a chunk per search: 50,000 bound that to ~0.3-0.5 s."""
    ef_search: int = Field(default=80, ge=10, le=1000, alias="SEARCH_EF_SEARCH")
    """The HNSW beam for a store of up to 25,000 chunks; a larger store's grows with
    (chunks / 25,000) ** 0.4 (db/search.py), since a fixed beam loses recall as the graph
    grows: 80 gives recall@10 0.978 at 23,750 embedding-like chunks, and the grown beam
    (140) 0.973 at 99,750, where 100 gave 0.949 (docs/benchmarks.md)."""
    max_scan_tuples: int = Field(
        default=20000, ge=100, le=10_000_000, alias="SEARCH_MAX_SCAN_TUPLES"
    )
    cache_size: int = Field(default=1024, ge=0, le=1_000_000, alias="SEARCH_CACHE_SIZE")


class HttpSettings(Group):
    """Where the API listens, who may call it, and how much a request may send."""

    host: str = Field(default="127.0.0.1", alias="HOST")
    port: int = Field(default=8000, ge=1, le=65535, alias="PORT")
    api_keys: SecretStr | None = Field(default=None, alias="MAIA_API_KEYS")
    """Keys to register at start: comma-separated `key` or `project:key` entries."""
    insecure: bool = Field(default=False, alias="MAIA_INSECURE")
    """Set by `serve --insecure`: serve beyond loopback with no key (open to the network)."""
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1, alias="MAX_UPLOAD_BYTES")
    body_idle_timeout: float = Field(default=30.0, gt=0, le=3600, alias="BODY_IDLE_TIMEOUT")
    """Seconds a request body may go without a byte arriving before the request gets 408."""
    body_timeout: float = Field(default=3600.0, gt=0, alias="BODY_TIMEOUT")
    """Seconds a whole request body (an upload) may take to arrive."""

    @field_validator("api_keys")
    @classmethod
    def _check_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_key_spec(value.get_secret_value())
        return value

    @property
    def needs_keys(self) -> bool:
        """Bound beyond loopback without `--insecure`: never serve without a key."""
        return not (is_loopback(self.host) or self.insecure)


class LogSettings(Group):
    """Every command logs (`worker`, `keys` and `migrate` serve no HTTP), so its own group."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", alias="LOG_LEVEL")
    format: LogFormat = Field(default="text", alias="LOG_FORMAT")

    @field_validator("level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class Settings(BaseSettings):
    """Every knob of the service, by group; `.env.example` documents each variable."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then the environment, then `.env`: each by variable name."""
        return (
            init_settings,
            flat_env.FlatNamesSource(settings_cls, env_settings),
            flat_env.FlatNamesSource(settings_cls, dotenv_settings),
        )

    @classmethod
    def env_names(cls) -> frozenset[str]:
        """Every environment variable the service reads."""
        return frozenset(alias for _group, alias in flat_env.variables(cls))

    @model_validator(mode="before")
    @classmethod
    def _fold(cls, data: object) -> object:
        return flat_env.fold(cls, data) if isinstance(data, Mapping) else data

    def to_env(self) -> dict[str, Any]:
        """These settings by variable name, the inverse of reading them."""
        groups = (getattr(self, name) for name in type(self).model_fields)
        return {k: v for group in groups for k, v in group.model_dump(by_alias=True).items()}

    def replace(self, **variables: Any) -> Self:
        """A copy with some variables changed, by their environment names and validated
        again: the runtime aims settings at the embedded server, `serve` at its bind address."""
        unknown = sorted(set(variables) - self.env_names())
        if unknown:
            raise TypeError(f"not a setting: {', '.join(unknown)}")
        return self.model_validate({**self.to_env(), **variables})

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """Refuses flat field names, which pydantic would store unseen; see `replace`."""
        unknown = sorted(set(update or {}) - set(type(self).model_fields))
        if unknown:
            raise TypeError(f"not a settings group: {', '.join(unknown)}; use Settings.replace")
        return super().model_copy(update=update, deep=deep)
