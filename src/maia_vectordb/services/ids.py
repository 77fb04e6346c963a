"""OpenAI-style external ids: a resource prefix and 24 random characters."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def _token(length: int = 24) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_file_id() -> str:
    return f"file-{_token()}"


def new_vector_store_id() -> str:
    return f"vs_{_token()}"


def new_batch_id() -> str:
    return f"vsfb_{_token()}"
