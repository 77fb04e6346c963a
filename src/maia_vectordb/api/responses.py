"""Error responses declared on routes, so the OpenAPI document shows the envelope."""

from __future__ import annotations

from typing import Any

from maia_vectordb.errors import ErrorEnvelope


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorEnvelope} for code in codes}
