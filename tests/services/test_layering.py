"""Services hold the rules, not SQL: no statement is built or run in `services/`.

Statements live in `db/queries` (and the search SQL beside it), where each one is
scoped by project; a service that built its own could forget the project.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import maia_vectordb.services

SERVICES = Path(maia_vectordb.services.__file__).parent
BUILDERS = frozenset(
    {
        "select",
        "insert",
        "update",
        "delete",
        "text",
        "exists",
        "union",
        "union_all",
        "func",
        "case",
        "literal",
        "literal_column",
        "tuple_",
    }
)
STATEMENT_METHODS = frozenset(
    {
        "execute",
        "scalar",
        "scalars",
        "stream",
        "where",
        "with_for_update",
        "with_only_columns",
        "returning",
        "on_conflict_do_update",
        "on_conflict_do_nothing",
        "order_by",
        "group_by",
        "select_from",
    }
)


def sql_in(source: str) -> list[str]:
    """Where `source` imports a statement builder from SQLAlchemy or builds/runs a statement."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if _is_sa(a.name)]
        elif isinstance(node, ast.ImportFrom) and _is_sa(node.module or ""):
            found += [
                f"{node.lineno}: {a.name} from {node.module}"
                for a in node.names
                if a.name in BUILDERS
            ]
        elif _calls_method(node, STATEMENT_METHODS):
            found.append(f"{node.lineno}: {ast.unparse(node)[:60]}")
    return found


def _calls_method(node: ast.AST, names: frozenset[str]) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in names
    )


def _is_sa(module: str) -> bool:
    return module.split(".")[0] == "sqlalchemy"


class TestServicesHoldNoSql:
    @pytest.mark.parametrize("path", sorted(SERVICES.glob("*.py")), ids=lambda p: p.name)
    def test_builds_and_runs_no_statement(self, path: Path) -> None:
        assert sql_in(path.read_text()) == []

    @pytest.mark.parametrize(
        "source",
        [
            "from sqlalchemy import select",
            "from sqlalchemy.dialects.postgresql import insert",
            "import sqlalchemy as sa",
            "async def f(s, q):\n    await s.execute(q)",
            "def f(q):\n    return q.where(True)",
            "def f(q):\n    return q.with_for_update(key_share=True)",
        ],
    )
    def test_the_check_sees_sql(self, source: str) -> None:
        assert sql_in(source) != []

    def test_the_check_allows_sessions_and_plain_python(self) -> None:
        source = (
            "from sqlalchemy.ext.asyncio import AsyncSession\n"
            "def f(d: dict[str, int], parts: list[str]) -> str:\n"
            "    d.update(a=1)\n"
            "    return ' '.join(parts) + str(list(d.values()))\n"
        )
        assert sql_in(source) == []
