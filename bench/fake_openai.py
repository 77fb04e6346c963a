"""A near-free stand-in for OpenAI's `POST /v1/embeddings`, run as its own process.

`python bench/fake_openai.py --port P --dims D [--vectors random|latent]
[--queries VECTORS --texts TEXTS]`

Line n of TEXTS gets row n of VECTORS (float32, D per row), so a benchmark knows the
exact query vector the server searched with. Any other text gets a deterministic unit
vector, cheap (no model), of one of two kinds:
- `random` (default): derived from a hash of the whole text, uniform-looking on the
  sphere: the hardest case for HNSW, and ~1.5x costlier to insert than real embeddings;
- `latent`: the sum of per-word 32-dimensional Gaussian latents mapped through one fixed
  random basis, plus a little noise: texts that share words are near each other, and
  the vectors have the low intrinsic dimension of real embeddings.
"""

from __future__ import annotations

import argparse
import array
import base64
import hashlib
import math
import operator
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BYTES_PER_FLOAT = 4
LATENT_DIMS = 32
NOISE = 0.05
WORD = re.compile(r"\w+")
VECTOR_KINDS = ("random", "latent")
# `\w` of ASCII text, as one C-level pass: every other byte becomes a space.
ASCII_WORD_BYTES = bytes(
    b if chr(b).isascii() and (chr(b).isalnum() or chr(b) == "_") else 0x20 for b in range(256)
)


def words_of(text: str) -> list[bytes]:
    """`\\w+` runs of the lower-cased text, UTF-8 encoded; ASCII text (nearly all of it)
    without the regex, which cost more than the rest of the vector."""
    lowered = text.lower()
    if lowered.isascii():
        words = lowered.encode().translate(ASCII_WORD_BYTES).split()
    else:
        words = [w.encode() for w in WORD.findall(lowered)]
    return words or [text.encode()]


def hashed_vector(text: str, dims: int) -> bytes:
    """Unit float32 vector from SHAKE-128 bytes read as int8: distinct texts, distinct vectors."""
    ints = array.array("b", hashlib.shake_128(text.encode()).digest(dims))
    norm = math.sqrt(sum(map(operator.mul, ints, ints))) or 1.0
    return array.array("f", (value / norm for value in ints)).tobytes()


class LatentVectors:
    """Embedding-like vectors: word latents summed, projected by a fixed basis, noised.

    The words' latents are rows of one matrix, gathered and summed in one call: integers
    summed in float64, so exactly the per-word sum, at a fraction of the CPU (this
    process shares the benchmark's cores with the server it measures)."""

    def __init__(self, dims: int) -> None:
        self.basis = np.random.default_rng(0).standard_normal((LATENT_DIMS, dims))
        self.rows: dict[bytes, int] = {}
        self.latents = np.zeros((1024, LATENT_DIMS))

    def _row(self, word: bytes) -> int:
        """A word's row, added on first sight: its hash bytes as centred int8s."""
        row = self.rows.get(word)
        if row is not None:
            return row
        row = len(self.rows)
        if row == self.latents.shape[0]:
            self.latents = np.concatenate([self.latents, np.zeros_like(self.latents)])
        digest = hashlib.blake2b(word, digest_size=LATENT_DIMS).digest()
        self.latents[row] = np.frombuffer(digest, dtype=np.int8)
        self.rows[word] = row
        return row

    def vector(self, text: str) -> bytes:
        words = words_of(text)
        ids = list(map(self.rows.get, words))
        if None in ids:
            ids = [self._row(w) for w in words]
        latent = self.latents.take(ids, axis=0).sum(axis=0) @ self.basis
        latent /= float(np.linalg.norm(latent)) or 1.0
        noise = np.frombuffer(hashlib.shake_128(text.encode()).digest(latent.shape[0]), np.int8)
        dense = latent + NOISE * noise / (float(np.linalg.norm(noise)) or 1.0)
        return (dense / np.linalg.norm(dense)).astype(np.float32).tobytes()


class Embeddings:
    def __init__(
        self, dims: int, vectors: Path | None, texts: Path | None, kind: str = "random"
    ) -> None:
        self.dims = dims
        self.requests = 0
        self.inputs = 0
        self.latent = LatentVectors(dims) if kind == "latent" else None
        table = vectors.read_bytes() if vectors else b""
        lines = texts.read_text(encoding="utf-8").splitlines() if texts else []
        row = dims * BYTES_PER_FLOAT
        self.known = {text: table[i * row : (i + 1) * row] for i, text in enumerate(lines)}

    def vector(self, text: str) -> bytes:
        known = self.known.get(text)
        if known is not None:
            return known
        if self.latent is not None:
            return self.latent.vector(text)
        return hashed_vector(text, self.dims)

    def payload(self, body: dict[str, Any]) -> dict[str, Any]:
        raw = body.get("input", [])
        inputs = [raw] if isinstance(raw, str) else [str(item) for item in raw]
        self.requests += 1
        self.inputs += len(inputs)
        data = [
            {
                "object": "embedding",
                "index": index,
                "embedding": base64.b64encode(self.vector(text)).decode(),
            }
            for index, text in enumerate(inputs)
        ]
        tokens = sum(len(text) // 4 + 1 for text in inputs)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return {"object": "list", "data": data, "model": body.get("model"), "usage": usage}


def build_app(embeddings: Embeddings) -> Starlette:
    async def embed(request: Request) -> JSONResponse:
        return JSONResponse(embeddings.payload(await request.json()))

    async def health(_: Request) -> Response:
        return Response("ok")

    async def stats(_: Request) -> JSONResponse:
        """Requests and inputs served so far: how well the server batches its embedding calls;
        and this process's CPU seconds, since it shares the cores of what it serves."""
        served = {"requests": embeddings.requests, "inputs": embeddings.inputs}
        return JSONResponse(served | {"cpu_seconds": time.process_time()})

    return Starlette(
        routes=[
            Route("/v1/embeddings", embed, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/stats", stats, methods=["GET"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dims", type=int, required=True)
    parser.add_argument("--vectors", choices=VECTOR_KINDS, default="random")
    parser.add_argument("--queries", type=Path, default=None, help="float32 query vectors")
    parser.add_argument("--texts", type=Path, default=None, help="their texts, one a line")
    args = parser.parse_args()
    app = build_app(Embeddings(args.dims, args.queries, args.texts, args.vectors))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
