"""OpenAI-style external ids: a resource prefix and 24 random characters."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
_LENGTH = 24
# 192 random bits for 62**24 (about 2**143) values: the modulo bias is 2**-49, nil.
_RANDOM_BYTES = 24


def _token(length: int = _LENGTH) -> str:
    """Base-62 digits of one draw of random bits: one call into the OS per id, not one
    per character (`secrets.choice` cost every upload ~25 µs)."""
    value = int.from_bytes(secrets.token_bytes(_RANDOM_BYTES))
    digits = []
    for _ in range(length):
        value, digit = divmod(value, len(_ALPHABET))
        digits.append(_ALPHABET[digit])
    return "".join(digits)


def new_file_id() -> str:
    return f"file-{_token()}"


def new_vector_store_id() -> str:
    return f"vs_{_token()}"


def new_batch_id() -> str:
    return f"vsfb_{_token()}"
