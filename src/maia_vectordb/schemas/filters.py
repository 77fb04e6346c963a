"""Attribute filters: OpenAI's comparison and compound filters, bounded as a whole.

The bound is checked on the raw JSON before pydantic builds any model, walking
at most `MAX_FILTER_NODES` nodes, so a filter of 100k clauses or 100k levels is
refused in microseconds instead of being parsed, compiled into tens of thousands
of bind parameters and sent to PostgreSQL.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, model_validator

from maia_vectordb.schemas.common import Request, SafeStr, Scalar

MAX_FILTER_DEPTH = 6
MAX_FILTER_CLAUSES = 64
MAX_FILTER_NODES = 512
MAX_FILTER_CHARS = 32_768
MAX_LIST_VALUES = 100

ComparisonType = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"]


class ComparisonFilter(Request):
    type: ComparisonType
    key: Annotated[SafeStr, Field(min_length=1, max_length=64)]
    """The attribute to compare."""
    value: Scalar | list[Scalar]
    """A string, number or boolean; a list for `in` / `nin`. An empty list is allowed, as
    the SDKs' types allow it: `in []` matches nothing, `nin []` every file with the key.
    The list's length is checked here, not by a bound on the union's list branch, whose
    error would come second to the scalar branch's "must be a string, number or
    boolean"."""

    @model_validator(mode="after")
    def _list_only_for_membership(self) -> ComparisonFilter:
        is_list = isinstance(self.value, list)
        if self.type in ("in", "nin") and not is_list:
            raise ValueError(f"'{self.type}' on key '{self.key}' needs a list value")
        if self.type not in ("in", "nin") and is_list:
            raise ValueError(f"'{self.type}' on key '{self.key}' needs a single value, not a list")
        if is_list and len(self.value) > MAX_LIST_VALUES:  # type: ignore[arg-type]
            raise ValueError(
                f"'{self.type}' on key '{self.key}' takes at most {MAX_LIST_VALUES} values"
            )
        return self


FILTER_TAGS = frozenset({"comparison", "compound"})
"""What validation errors put in a path after a filter: the union's tag (`_kind`)."""


def _kind(value: Any) -> str:
    is_compound = isinstance(value, dict) and value.get("type") in ("and", "or")
    return "compound" if is_compound else "comparison"


class CompoundFilter(Request):
    type: Literal["and", "or"]
    filters: Annotated[
        list[
            Annotated[
                Annotated[ComparisonFilter, Tag("comparison")]
                | Annotated[CompoundFilter, Tag("compound")],
                Discriminator(_kind),
            ]
        ],
        Field(min_length=1, max_length=MAX_FILTER_CLAUSES),
    ]


def _size(node: dict[str, Any]) -> tuple[int, int]:
    """(nodes, characters) a comparison adds: one node per value, its key and strings."""
    value = node.get("value")
    values = value if isinstance(value, list) else [value]
    texts = [node.get("key"), *values]
    return max(1, len(values)), sum(len(t) for t in texts if isinstance(t, str))


def check_budget(raw: Any) -> Any:
    """Depth, clauses per level, total nodes and total characters, with early exit."""
    nodes, chars = 0, 0
    stack: list[tuple[Any, int]] = [(raw, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_FILTER_DEPTH:
            raise ValueError(f"filters may nest at most {MAX_FILTER_DEPTH} levels")
        if not isinstance(node, dict):
            continue
        children = node.get("filters")
        if isinstance(children, list):
            if len(children) > MAX_FILTER_CLAUSES:
                raise ValueError(f"a compound filter may hold at most {MAX_FILTER_CLAUSES} filters")
            stack.extend((child, depth + 1) for child in children)
            added, text = 1, 0
        else:
            added, text = _size(node)
        nodes, chars = nodes + added, chars + text
        if nodes > MAX_FILTER_NODES:
            raise ValueError(f"filters may hold at most {MAX_FILTER_NODES} clauses and values")
        if chars > MAX_FILTER_CHARS:
            raise ValueError(f"filters may hold at most {MAX_FILTER_CHARS} characters of text")
    return raw


Filter = Annotated[
    Annotated[ComparisonFilter, Tag("comparison")] | Annotated[CompoundFilter, Tag("compound")],
    Discriminator(_kind),
]
BoundedFilter = Annotated[Filter, BeforeValidator(check_budget)]
