"""`chunking_strategy`: `auto` or `static` on the way in, `static`/`other` on the way out."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictInt, model_validator

from maia_vectordb.schemas.common import Request

AUTO_MAX_TOKENS = 800
AUTO_OVERLAP_TOKENS = 400


class StaticParams(Request):
    max_chunk_size_tokens: StrictInt = Field(ge=100, le=4096)
    """Tokens per chunk (cl100k_base), 100..4096."""
    chunk_overlap_tokens: StrictInt = Field(ge=0)
    """Tokens shared by consecutive chunks; at most half of `max_chunk_size_tokens`."""

    @model_validator(mode="after")
    def _overlap_at_most_half(self) -> StaticParams:
        if self.chunk_overlap_tokens > self.max_chunk_size_tokens // 2:
            raise ValueError("chunk_overlap_tokens must not exceed half of max_chunk_size_tokens")
        return self


class AutoStrategy(Request):
    type: Literal["auto"]


class StaticStrategy(Request):
    type: Literal["static"]
    static: StaticParams


ChunkingStrategyParam = Annotated[AutoStrategy | StaticStrategy, Field(discriminator="type")]
STRATEGY_TAGS = frozenset({"auto", "static"})
"""What validation errors put in a path after `chunking_strategy`: the union's tag."""


class StaticOut(BaseModel):
    max_chunk_size_tokens: int
    chunk_overlap_tokens: int


class StaticStrategyOut(BaseModel):
    type: Literal["static"] = "static"
    static: StaticOut


def resolve(strategy: AutoStrategy | StaticStrategy | None) -> StaticStrategyOut:
    """`auto` is OpenAI's 800/400; responses always report the concrete sizes used."""
    if isinstance(strategy, StaticStrategy):
        params = strategy.static
        return StaticStrategyOut(static=StaticOut(**params.model_dump()))
    return StaticStrategyOut(
        static=StaticOut(
            max_chunk_size_tokens=AUTO_MAX_TOKENS, chunk_overlap_tokens=AUTO_OVERLAP_TOKENS
        )
    )
