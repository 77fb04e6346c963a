"""`maia-vectordb keys create | list | revoke`: manage the API keys of projects."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from maia_vectordb.config import Settings
    from maia_vectordb.services.keys import KeyInfo


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("keys", help="create, list and revoke API keys")
    actions = parser.add_subparsers(dest="keys_command", required=True)
    create = actions.add_parser("create", help="mint a key for a project (printed once)")
    create.add_argument("--project", default="default", help="project name (created if new)")
    listing = actions.add_parser("list", help="list keys: prefix, project, created, last used")
    listing.add_argument("--json", action="store_true", help="print a JSON array, not a table")
    revoke = actions.add_parser("revoke", help="revoke a key by its prefix or full value")
    revoke.add_argument("key", help="the prefix shown by `keys list`, or the whole key")


async def run(settings: Settings, args: argparse.Namespace) -> None:
    """Quiet: the database start and the migration check say nothing unless they fail."""
    from maia_vectordb.cli.quiet import quiet_logs
    from maia_vectordb.runtime import open_database

    with quiet_logs():
        async with open_database(settings) as db, db.sessionmaker() as session, session.begin():
            await _act(session, args)


async def _act(session: AsyncSession, args: argparse.Namespace) -> None:
    from maia_vectordb.services import keys

    if args.keys_command == "create":
        await _warn_if_first_key_hides_data(session, args.project)
        key = await keys.create_key(session, project=args.project)
        print(key)
        print(f"project: {args.project}. Store this key now: it is not shown again.")
    elif args.keys_command == "revoke":
        count = await keys.revoke_key(session, key_or_prefix=args.key)
        print(f"revoked {count} key(s)")
        if (await keys.key_counts(session))[0] == 0:
            print(CLOSED_NOTE, file=sys.stderr)
    elif args.json:
        _print_json(await keys.list_keys(session))
    else:
        _print_table(await keys.list_keys(session))


CLOSED_NOTE = (
    "warning: no active API key remains. The server stays closed (every request gets 401) "
    "until a key is created; it does not fall back to keyless open mode."
)


async def _warn_if_first_key_hides_data(session: AsyncSession, project: str) -> None:
    """The first key ends open mode: what was made keyless belongs to project `default`."""
    from maia_vectordb.services import keys

    if (await keys.key_counts(session))[1]:
        return
    made = await keys.open_mode_objects(session)
    if made and project != "default":
        print(
            f"warning: this is the first key, so the server stops being open. The {made} "
            "file(s) and vector store(s) created without a key belong to project 'default' "
            f"and are not visible with a key of project {project!r}; create a key with "
            "`--project default` to keep reaching them.",
            file=sys.stderr,
        )


def _print_json(rows: list[KeyInfo]) -> None:
    from maia_vectordb.cli.output import print_json

    print_json(
        [
            {
                "prefix": row.prefix,
                "project": row.project,
                "created_at": row.created_at.isoformat(),
                "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
                "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
                "status": "revoked" if row.revoked_at else "active",
            }
            for row in rows
        ]
    )


def _print_table(rows: list[KeyInfo]) -> None:
    def when(moment: object) -> str:
        return "-" if moment is None else str(moment)[:19]

    print(f"{'prefix':<14} {'project':<20} {'created':<20} {'last used':<20} status")
    for row in rows:
        status = "revoked" if row.revoked_at else "active"
        print(
            f"{row.prefix:<14} {row.project[:20]:<20} {when(row.created_at):<20} "
            f"{when(row.last_used_at):<20} {status}"
        )
