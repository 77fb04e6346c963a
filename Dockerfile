# syntax=docker/dockerfile:1.7
# MAIA VectorDB: the API server and ingestion workers, run against the
# PostgreSQL + pgvector named by DATABASE_URL (see docker-compose.yml).

FROM python:3.11-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /uvx /usr/local/bin/
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

FROM python:3.11-slim-bookworm
RUN groupadd --system maia && useradd --system --gid maia --home-dir /app maia \
    && mkdir /data && chown maia:maia /data
WORKDIR /app
COPY --from=build --chown=maia:maia /app /app
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    MAIA_DATA_DIR=/data
# Without OPENAI_API_KEY the local model (all-MiniLM-L6-v2) is downloaded into
# /data/models on first start: mount a volume at /data to keep it, or mount the files
# and set EMBEDDING_MODEL_PATH for hosts without internet.
USER maia
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/health/ready\", timeout=4)"]
CMD ["maia-vectordb", "serve"]
