"""Settings, read once from the environment and `.env`, then passed explicitly."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from maia_vectordb.key_spec import parse_key_spec

log = logging.getLogger(__name__)

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


class Settings(BaseSettings):
    """Every knob of the service; `.env.example` documents each one."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    search_database_url: str | None = Field(default=None, alias="SEARCH_DATABASE_URL")
    """A read replica for searches; writes (and everything else) use DATABASE_URL."""
    data_dir: Path = Field(default_factory=default_data_dir, alias="MAIA_DATA_DIR")
    db_pool_size: int = Field(default=10, ge=1, le=200, alias="DB_POOL_SIZE")
    db_max_overflow: int = Field(default=10, ge=0, le=200, alias="DB_MAX_OVERFLOW")
    db_pool_timeout: float = Field(default=10.0, gt=0, alias="DB_POOL_TIMEOUT")
    db_pool_recycle: int = Field(default=1800, ge=-1, alias="DB_POOL_RECYCLE")
    db_connect_timeout: float = Field(default=10.0, gt=0, le=60, alias="DB_CONNECT_TIMEOUT")

    openai_api_key: SecretStr | None = Field(default=None, alias="OPENAI_API_KEY")
    embedding_provider: EmbeddingProvider | None = Field(default=None, alias="EMBEDDING_PROVIDER")
    embedding_base_url: str | None = Field(default=None, alias="EMBEDDING_BASE_URL")
    embedding_model: str = Field(default="text-embedding-3-small", alias="EMBEDDING_MODEL")
    embedding_dimensions: int = Field(default=1536, ge=1, le=4000, alias="EMBEDDING_DIMENSIONS")
    embedding_concurrency: int = Field(default=4, ge=1, le=64, alias="EMBEDDING_CONCURRENCY")
    embedding_max_retries: int = Field(default=6, ge=0, le=20, alias="EMBEDDING_MAX_RETRIES")
    embedding_timeout: float = Field(default=60.0, gt=0, alias="EMBEDDING_TIMEOUT")
    embedding_model_path: Path | None = Field(default=None, alias="EMBEDDING_MODEL_PATH")
    """A directory holding the local model's `model.onnx` + `tokenizer.json` (no download)."""
    embedding_model_url: str = Field(
        default="https://chroma-onnx-models.s3.amazonaws.com/all-MiniLM-L6-v2/onnx.tar.gz",
        alias="EMBEDDING_MODEL_URL",
    )
    """The local model's archive, downloaded on first use and checked against its pinned
    SHA-256 (a mirror must serve the same bytes)."""
    embedding_local_threads: int = Field(default=2, ge=1, le=64, alias="EMBEDDING_LOCAL_THREADS")
    """onnxruntime threads for one local inference; one inference runs at a time."""

    workers: int = Field(default=2, ge=0, le=64, alias="INGEST_WORKERS")
    job_max_attempts: int = Field(default=5, ge=1, le=50, alias="INGEST_MAX_ATTEMPTS")
    job_lease_seconds: int = Field(default=30, ge=3, le=3600, alias="INGEST_LEASE_SECONDS")
    job_retry_base_seconds: float = Field(
        default=2.0, ge=0.01, le=600, alias="INGEST_RETRY_BASE_SECONDS"
    )
    job_poll_interval: float = Field(default=0.5, gt=0, le=60, alias="INGEST_POLL_INTERVAL")
    batch_files: int = Field(default=512, ge=1, le=2048, alias="INGEST_BATCH_FILES")
    """Jobs one worker claims at once: their chunks share embedding requests and one commit."""
    batch_bytes: int = Field(default=1024 * 1024, ge=1024, alias="INGEST_BATCH_BYTES")
    """A claim stops adding files past this many uploaded bytes (the first always counts)."""
    parse_max_text_chars: int = Field(default=32_000_000, ge=1000, alias="INGEST_MAX_TEXT_CHARS")
    """Text one file may yield, every format (OpenAI's 5M-token file limit is ~20M chars)."""
    parse_max_inflated_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1024 * 1024, alias="INGEST_MAX_INFLATED_BYTES"
    )
    """What a .docx/.pptx may inflate to, checked from its zip directory and while reading."""
    parse_max_compression_ratio: float = Field(
        default=100.0, ge=2, alias="INGEST_MAX_COMPRESSION_RATIO"
    )
    parse_max_pdf_pages: int = Field(default=5000, ge=1, alias="INGEST_MAX_PDF_PAGES")
    parse_timeout_seconds: float = Field(default=120.0, gt=0, alias="INGEST_PARSE_TIMEOUT")

    search_exact_max_chunks: int = Field(default=2000, ge=0, alias="SEARCH_EXACT_MAX_CHUNKS")
    search_ef_search: int = Field(default=200, ge=10, le=1000, alias="SEARCH_EF_SEARCH")
    search_max_scan_tuples: int = Field(
        default=20000, ge=100, le=10_000_000, alias="SEARCH_MAX_SCAN_TUPLES"
    )
    search_cache_size: int = Field(default=1024, ge=0, le=1_000_000, alias="SEARCH_CACHE_SIZE")

    api_keys: SecretStr | None = Field(default=None, alias="MAIA_API_KEYS")
    """Keys to register at start: comma-separated `key` or `project:key` entries."""

    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1, alias="MAX_UPLOAD_BYTES")
    body_idle_timeout: float = Field(default=30.0, gt=0, le=3600, alias="BODY_IDLE_TIMEOUT")
    """Seconds a request body may go without a byte arriving before the request gets 408."""
    body_timeout: float = Field(default=3600.0, gt=0, alias="BODY_TIMEOUT")
    """Seconds a whole request body (an upload) may take to arrive."""
    insecure: bool = Field(default=False, alias="MAIA_INSECURE")
    """Set by `serve --insecure`: serve beyond loopback with no key (open to the network)."""
    host: str = Field(default="127.0.0.1", alias="HOST")
    port: int = Field(default=8000, ge=1, le=65535, alias="PORT")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", alias="LOG_LEVEL"
    )
    log_format: LogFormat = Field(default="text", alias="LOG_FORMAT")

    @field_validator("database_url", "search_database_url", mode="before")
    @classmethod
    def _normalise_url(cls, value: object) -> object:
        if isinstance(value, str):
            return normalise_database_url(value.strip()) if value.strip() else None
        return value

    @field_validator("api_keys")
    @classmethod
    def _check_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_key_spec(value.get_secret_value())
        return value

    @field_validator("embedding_provider", mode="before")
    @classmethod
    def _blank_provider(cls, value: object) -> object:
        return value or None

    @field_validator("embedding_model_path", mode="before")
    @classmethod
    def _blank_path(cls, value: object) -> object:
        return value or None

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_provider(self) -> Settings:
        if self.embedding_provider == "openai" and not self.openai_configured:
            raise ValueError(
                "EMBEDDING_PROVIDER=openai needs OPENAI_API_KEY (or EMBEDDING_BASE_URL "
                "for a keyless OpenAI-compatible server)"
            )
        return self

    @property
    def resolved_provider(self) -> EmbeddingProvider:
        """`openai` when a key is configured, else the built-in ONNX model, so `serve` with no
        configuration searches by meaning."""
        if self.embedding_provider is not None:
            return self.embedding_provider
        if self.openai_api_key is not None:
            return "openai"
        return "local"

    @property
    def needs_keys(self) -> bool:
        """Bound beyond loopback without `--insecure`: never serve without a key."""
        return not (is_loopback(self.host) or self.insecure)

    @property
    def openai_configured(self) -> bool:
        """A key or a keyless OpenAI-compatible server: the `openai` provider can run."""
        return self.openai_api_key is not None or self.embedding_base_url is not None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def model_cache_dir(self) -> Path:
        """Where downloaded local model files live, beside the embedded database."""
        return self.data_dir / "models"

    def describe_database(self) -> str:
        """Where the data lives, without a password, for the start-up log."""
        if self.database_url is None:
            return f"embedded PostgreSQL at {self.pgdata}"
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        return f"PostgreSQL {url.host or 'localhost'}:{url.port or 5432}/{url.database}"
