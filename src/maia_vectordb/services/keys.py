"""API keys: minted once, stored only as SHA-256 hashes, resolved to a project per request.

Keys are 238 bits of randomness, so a fast hash is the right tool (no salt or
slow KDF is needed to resist guessing), and looking a key up by its hash leaks
nothing about the key itself.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from maia_vectordb.db.models import DEFAULT_PROJECT_ID
from maia_vectordb.db.queries import keys as queries
from maia_vectordb.db.queries import projects
from maia_vectordb.errors import NotFound
from maia_vectordb.key_spec import check_key, parse_key_spec

log = logging.getLogger(__name__)

KEY_PREFIX = "sk-maia-"
KEY_CHARS = 40
SHOWN_PREFIX = len(KEY_PREFIX) + 4
TOUCH_EVERY_SECONDS = 60
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class KeyInfo:
    id: uuid.UUID
    prefix: str
    project: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(KEY_CHARS))


async def ensure_project(session: AsyncSession, name: str) -> uuid.UUID:
    return await projects.ensure(session, name=name)


async def add_key(session: AsyncSession, *, project: str, key: str) -> uuid.UUID:
    """Register `key` for `project` (created if new); re-adding a known key is a no-op."""
    check_key(key)
    project_id = await ensure_project(session, project)
    key_id = uuid.uuid4()
    await queries.add(
        session,
        project_id=project_id,
        key_id=key_id,
        prefix=key[:SHOWN_PREFIX],
        key_hash=hash_key(key),
    )
    return key_id


async def create_key(session: AsyncSession, *, project: str) -> str:
    key = generate_key()
    await add_key(session, project=project, key=key)
    return key


async def seed_keys(session: AsyncSession, spec: str) -> int:
    """Registers each `MAIA_API_KEYS` entry that is new. One already registered keeps its
    project and its revocation: a restart must not move a key's data or undo a `keys
    revoke`. Where the entry says otherwise, a warning says so and what to do."""
    pairs = parse_key_spec(spec)
    for project, key in pairs:
        await add_key(session, project=project, key=key)
        found = await queries.registration(session, key_hash=hash_key(key))
        fields = {"prefix": key[:SHOWN_PREFIX], "listed_for": project}
        if found is not None and found[0] != project:
            log.warning(
                "keys.seed.other_project",
                extra=fields | {"opens": found[0], "to_move_it": "revoke it, then use a new key"},
            )
        if found is not None and found[1]:
            log.warning("keys.seed.revoked", extra=fields | {"opens": "nothing (revoked)"})
    return len(pairs)


async def list_keys(session: AsyncSession) -> list[KeyInfo]:
    return [
        KeyInfo(k.id, k.prefix, name, k.created_at, k.last_used_at, k.revoked_at)
        for k, name in await queries.list_all(session)
    ]


async def revoke_key(session: AsyncSession, *, key_or_prefix: str) -> int:
    """Revoke by full key, or by the prefix `keys list` shows (every key sharing it)."""
    if len(key_or_prefix) > SHOWN_PREFIX:
        revoked = await queries.revoke_by_hash(session, key_hash=hash_key(key_or_prefix))
    else:
        revoked = await queries.revoke_by_prefix(session, prefix=key_or_prefix)
    if not revoked:
        raise NotFound(f"No active API key matches {key_or_prefix[:SHOWN_PREFIX]!r}")
    return revoked


async def active_key_count(session: AsyncSession) -> int:
    return await queries.active_count(session)


async def key_counts(session: AsyncSession) -> tuple[int, int]:
    """(active keys, keys ever registered): revoked keys still count as "this server had keys"."""
    return await queries.counts(session)


async def open_mode_objects(session: AsyncSession) -> int:
    """Files and vector stores made while the server was open (they belong to `default`)."""
    return await projects.count_objects(session, project_id=DEFAULT_PROJECT_ID)


async def authenticate(
    sessionmaker: async_sessionmaker[AsyncSession], key: str
) -> uuid.UUID | None:
    """The project a presented key belongs to, or None.

    One short transaction of its own, committed before the request body is read, so
    a slow upload holds neither a pooled connection nor a lock on the key's row."""
    digest = hash_key(key)
    async with sessionmaker() as session, session.begin():
        row = await queries.find_active(session, key_hash=digest)
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            return None
        # At most once a minute, and never waiting for another request's lock.
        await queries.touch(session, key_id=row.id, every=timedelta(seconds=TOUCH_EVERY_SECONDS))
    return uuid.UUID(str(row.project_id))
