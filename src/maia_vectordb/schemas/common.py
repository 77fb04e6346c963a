"""Pieces every resource shares: lists, deletions, metadata and attributes rules."""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

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


def _strip_nul(value: str) -> str:
    return value.replace("\x00", "")


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


CleanStr = Annotated[str, AfterValidator(_strip_nul)]
AttributeValue = StrictBool | float | CleanStr
Metadata = Annotated[dict[CleanStr, CleanStr] | None, AfterValidator(_check_pairs)]
Attributes = Annotated[dict[CleanStr, AttributeValue] | None, AfterValidator(_check_pairs)]
FileIds = Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=500)]


class Deleted(BaseModel):
    id: str
    object: str
    deleted: bool = True
