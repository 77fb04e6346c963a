"""Pieces every resource shares: safe text and numbers, lists, deletions, metadata and
attributes rules.

PostgreSQL rejects text with NUL bytes or lone UTF-16 surrogates and JSON numbers
that are not finite, so every string and number of a request passes through
`SafeStr` / `FiniteFloat` here, once, and fails as a 400 naming its field.
"""

from __future__ import annotations

import math
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator

T = TypeVar("T")

MAX_PAIRS = 16
MAX_KEY_CHARS = 64
MAX_VALUE_CHARS = 512


class Request(BaseModel):
    """Request bodies reject unknown fields so typos surface as a 400 naming them."""

    model_config = ConfigDict(extra="forbid")


class ListPage(BaseModel, Generic[T]):
    object: Literal["list"] = "list"
    data: list[T]
    first_id: str | None
    last_id: str | None
    has_more: bool

    @classmethod
    def of(cls, data: list[T], *, has_more: bool) -> ListPage[T]:
        """Cursors are the ids at both ends of this page, as OpenAI reports them."""
        return cls(
            data=data,
            first_id=getattr(data[0], "id", None) if data else None,
            last_id=getattr(data[-1], "id", None) if data else None,
            has_more=has_more,
        )


def check_text(value: str) -> str:
    """Reject what PostgreSQL cannot store in `text`/`jsonb`: NUL and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000) characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must not contain unpaired UTF-16 surrogates") from None
    return value


def _check_pairs(value: dict[str, object] | None) -> dict[str, object] | None:
    if value is None:
        return None
    if len(value) > MAX_PAIRS:
        raise ValueError(f"at most {MAX_PAIRS} pairs are allowed, got {len(value)}")
    for key, item in value.items():
        if not key or len(key) > MAX_KEY_CHARS:
            raise ValueError(f"key {key[:80]!r} must be 1 to {MAX_KEY_CHARS} characters")
        if isinstance(item, str) and len(item) > MAX_VALUE_CHARS:
            raise ValueError(f"value of {key!r} exceeds {MAX_VALUE_CHARS} characters")
    return value


def check_scalar(value: object) -> bool | int | float | str:
    """A string, number or boolean exactly as sent: an integer stays an integer (2025, not
    2025.0); `NaN`, `Infinity` and overflowing numbers such as `1e999` are refused."""
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value
    if isinstance(value, str):
        return check_text(value)
    raise ValueError("must be a string, number or boolean")


SafeStr = Annotated[str, AfterValidator(check_text)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Scalar = Annotated[
    bool | int | float | str,
    PlainValidator(check_scalar, json_schema_input_type=bool | int | float | str),
]
AttributeValue = Scalar
Identifier = Annotated[SafeStr, Field(min_length=1, max_length=64)]
Metadata = Annotated[dict[SafeStr, SafeStr] | None, AfterValidator(_check_pairs)]
Attributes = Annotated[dict[SafeStr, AttributeValue] | None, AfterValidator(_check_pairs)]
FileIds = Annotated[list[Identifier], Field(max_length=500)]


class Deleted(BaseModel):
    id: str
    object: str
    deleted: bool = True
