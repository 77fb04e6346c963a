"""`POST /vector_stores/{id}/search`: the request, its filters, and the results page."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictInt, field_validator, model_validator

from maia_vectordb.schemas.common import FiniteFloat, Request, SafeStr
from maia_vectordb.schemas.filters import BoundedFilter
from maia_vectordb.schemas.filters import ComparisonFilter as ComparisonFilter
from maia_vectordb.schemas.filters import Filter as Filter
from maia_vectordb.schemas.vector_store_files import ContentPart

MAX_QUERIES = 16
MAX_QUERY_CHARS = 8000


class HybridSearch(Request):
    embedding_weight: FiniteFloat = Field(ge=0, le=100)
    text_weight: FiniteFloat = Field(ge=0, le=100)


class RankingOptions(Request):
    ranker: Literal["none", "auto", "default-2024-11-15", "rrf", "weighted"] = "auto"
    """OpenAI's rankers, plus llama-stack's `rrf` and `weighted` (extensions; hybrid)."""
    score_threshold: FiniteFloat = Field(default=0.0, ge=0.0, le=1.0)
    hybrid_search: HybridSearch | None = None
    impact_factor: FiniteFloat | None = Field(default=None, gt=0, le=1000)
    """Extension (llama-stack, with `ranker: "rrf"`): the k of Σ 1 / (k + rank)."""
    alpha: FiniteFloat | None = Field(default=None, ge=0, le=1)
    """Extension (llama-stack, with `ranker: "weighted"`): the vector leg's weight."""

    @model_validator(mode="after")
    def _options_match_ranker(self) -> RankingOptions:
        if self.impact_factor is not None and self.ranker != "rrf":
            raise ValueError("impact_factor applies only with ranker 'rrf'")
        if self.alpha is not None and self.ranker != "weighted":
            raise ValueError("alpha applies only with ranker 'weighted'")
        return self


SearchMode = Literal["vector", "keyword", "hybrid"]


class SearchRequest(Request):
    query: SafeStr | list[SafeStr]
    """One query, or up to `MAX_QUERIES` searched together (their results merged)."""
    filters: BoundedFilter | None = None
    max_num_results: StrictInt = Field(default=10, ge=1, le=50)
    ranking_options: RankingOptions | None = None
    rewrite_query: bool = False
    search_mode: SearchMode | None = None
    """Extension: `vector`, `keyword` or `hybrid`; overrides the ranker's choice."""

    @field_validator("query")
    @classmethod
    def _non_blank(cls, value: str | list[str]) -> str | list[str]:
        queries = [value] if isinstance(value, str) else value
        if not queries:
            raise ValueError("needs at least one query")
        if len(queries) > MAX_QUERIES:
            raise ValueError(f"takes at most {MAX_QUERIES} queries")
        if any(not q.strip() for q in queries):
            raise ValueError("queries must not be empty")
        if any(len(q) > MAX_QUERY_CHARS for q in queries):
            raise ValueError(f"a query may have at most {MAX_QUERY_CHARS} characters")
        return value

    def queries(self) -> list[str]:
        return [self.query] if isinstance(self.query, str) else list(self.query)


class SearchResult(BaseModel):
    file_id: str
    filename: str
    score: float
    attributes: dict[str, Any] | None
    content: list[ContentPart]


class SearchPage(BaseModel):
    object: Literal["vector_store.search_results.page"] = "vector_store.search_results.page"
    search_query: list[str]
    data: list[SearchResult]
    has_more: bool = False
    next_page: str | None = None
