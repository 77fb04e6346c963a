"""A near-free stand-in for OpenAI's `POST /v1/embeddings`, run as its own process.

`python bench/fake_openai.py --port P --dims D [--queries VECTORS --texts TEXTS]`

Line n of TEXTS gets row n of VECTORS (float32, D per row), so a benchmark knows the
exact query vector the server searched with. Any other text gets a unit vector derived
from a hash of the text: deterministic, distinct per text, and cheap (no model).
"""

from __future__ import annotations

import argparse
import array
import base64
import hashlib
import math
import operator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

BYTES_PER_FLOAT = 4


def hashed_vector(text: str, dims: int) -> bytes:
    """Unit float32 vector from SHAKE-128 bytes read as int8: distinct texts, distinct vectors."""
    ints = array.array("b", hashlib.shake_128(text.encode()).digest(dims))
    norm = math.sqrt(sum(map(operator.mul, ints, ints))) or 1.0
    return array.array("f", (value / norm for value in ints)).tobytes()


class Embeddings:
    def __init__(self, dims: int, vectors: Path | None, texts: Path | None) -> None:
        self.dims = dims
        table = vectors.read_bytes() if vectors else b""
        lines = texts.read_text(encoding="utf-8").splitlines() if texts else []
        row = dims * BYTES_PER_FLOAT
        self.known = {text: table[i * row : (i + 1) * row] for i, text in enumerate(lines)}

    def vector(self, text: str) -> bytes:
        known = self.known.get(text)
        return known if known is not None else hashed_vector(text, self.dims)

    def payload(self, body: dict[str, Any]) -> dict[str, Any]:
        raw = body.get("input", [])
        inputs = [raw] if isinstance(raw, str) else [str(item) for item in raw]
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

    return Starlette(
        routes=[
            Route("/v1/embeddings", embed, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dims", type=int, required=True)
    parser.add_argument("--queries", type=Path, default=None, help="float32 query vectors")
    parser.add_argument("--texts", type=Path, default=None, help="their texts, one a line")
    args = parser.parse_args()
    app = build_app(Embeddings(args.dims, args.queries, args.texts))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
