"""`ingest --dry-run`: what a run would upload, replace, delete and re-tag, changing nothing.

It reads the store exactly as a real run does and makes the same plan, then reports it
instead of acting on it. A store that does not exist yet would be created, so every
file would be uploaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from openai import AsyncOpenAI
from rich.console import Console
from rich.table import Table

from maia_vectordb.cli.connect import find_store
from maia_vectordb.cli.ingest_batches import AttributeValue
from maia_vectordb.cli.ingest_plan import PATH_ATTR, Plan, attached_by_path, make_plan
from maia_vectordb.cli.walk import Collected


@dataclass(frozen=True)
class Preview:
    store: str
    store_id: str | None
    """None when the store would be created."""
    plan: Plan
    collected: Collected

    def rows(self) -> list[tuple[str, str, str]]:
        """(action, path, detail) in the order a run acts."""
        rows: list[tuple[str, str, str]] = []
        for item in self.plan.pending:
            replaces = [a for a in item.stale if a.status == "completed"]
            rows.append(("replace" if replaces else "upload", item.local.key, ""))
            rows += [("delete", item.local.key, f"{a.file_id} ({a.status})") for a in item.stale]
        rows += [
            ("retag", str(a.attributes.get(PATH_ATTR, "")), a.file_id) for a in self.plan.retag
        ]
        rows += [("fail", o.local.key, o.message) for o in self.plan.unreadable]
        return rows


async def preview(
    client: AsyncOpenAI,
    name_or_id: str,
    attributes: dict[str, AttributeValue],
    collected: Collected,
) -> Preview:
    store = await find_store(client, name_or_id)
    attached = await attached_by_path(client, store.id) if store else {}
    plan = await make_plan(collected.files, attached, attributes)
    if store is None:
        return Preview(name_or_id, None, plan, collected)
    return Preview(store.name or store.id, store.id, plan, collected)


def preview_json(view: Preview) -> dict[str, object]:
    return {
        "dry_run": True,
        "store": {"id": view.store_id, "name": view.store, "created": view.store_id is None},
        "actions": [
            {"action": action, "path": path, "detail": detail}
            for action, path, detail in view.rows()
        ],
        "unchanged": len(view.plan.skipped),
        "ignored": view.collected.ignored,
        "excluded": view.collected.excluded,
    }


def render_preview(console: Console, view: Preview) -> None:
    where = f"{view.store} ({view.store_id})" if view.store_id else f"{view.store} (new store)"
    table = Table(title=f"dry run: ingest into {where}", title_justify="left")
    for column in ("action", "file", "detail"):
        table.add_column(column, overflow="fold")
    for row in view.rows():
        table.add_row(*row)
    console.print(table)
    counts = {a: sum(r[0] == a for r in view.rows()) for a in ("upload", "replace", "delete")}
    console.print(
        f"would upload {counts['upload']} · replace {counts['replace']} · "
        f"delete {counts['delete']} · re-tag {len(view.plan.retag)} · "
        f"unchanged {len(view.plan.skipped)} · excluded {view.collected.excluded}\n"
        "nothing was changed (--dry-run)",
        highlight=False,
    )
