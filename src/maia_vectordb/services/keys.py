"""API keys: minted once, stored only as SHA-256 hashes, resolved to a project per request.

Keys are 238 bits of randomness, so a fast hash is the right tool (no salt or
slow KDF is needed to resist guessing), and looking a key up by its hash leaks
nothing about the key itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from maia_vectordb.db.models import DEFAULT_PROJECT_ID, ApiKey, File, Project, VectorStore
from maia_vectordb.errors import NotFound
from maia_vectordb.key_spec import check_key, parse_key_spec

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
    stmt = (
        insert(Project)
        .values(id=uuid.uuid4(), name=name)
        .on_conflict_do_update(index_elements=[Project.name], set_={"name": name})
        .returning(Project.id)
    )
    return (await session.execute(stmt)).scalar_one()


async def add_key(session: AsyncSession, *, project: str, key: str) -> uuid.UUID:
    """Register `key` for `project` (created if new); re-adding a known key is a no-op."""
    check_key(key)
    project_id = await ensure_project(session, project)
    key_id = uuid.uuid4()
    await session.execute(
        insert(ApiKey)
        .values(id=key_id, project_id=project_id, prefix=key[:SHOWN_PREFIX], key_hash=hash_key(key))
        .on_conflict_do_nothing(index_elements=[ApiKey.key_hash])
    )
    return key_id


async def create_key(session: AsyncSession, *, project: str) -> str:
    key = generate_key()
    await add_key(session, project=project, key=key)
    return key


async def seed_keys(session: AsyncSession, spec: str) -> int:
    pairs = parse_key_spec(spec)
    for project, key in pairs:
        await add_key(session, project=project, key=key)
    return len(pairs)


async def list_keys(session: AsyncSession) -> list[KeyInfo]:
    query = select(ApiKey, Project.name).join(Project).order_by(ApiKey.created_at)
    return [
        KeyInfo(k.id, k.prefix, name, k.created_at, k.last_used_at, k.revoked_at)
        for k, name in await session.execute(query)
    ]


async def revoke_key(session: AsyncSession, *, key_or_prefix: str) -> int:
    """Revoke by full key, or by the prefix `keys list` shows (every key sharing it)."""
    match = (
        ApiKey.key_hash == hash_key(key_or_prefix)
        if len(key_or_prefix) > SHOWN_PREFIX
        else ApiKey.prefix == key_or_prefix
    )
    result = await session.execute(
        update(ApiKey).where(match, ApiKey.revoked_at.is_(None)).values(revoked_at=func.now())
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"No active API key matches {key_or_prefix[:SHOWN_PREFIX]!r}")
    return int(result.rowcount)  # type: ignore[attr-defined]


async def active_key_count(session: AsyncSession) -> int:
    query = select(func.count()).select_from(ApiKey).where(ApiKey.revoked_at.is_(None))
    return int(await session.scalar(query) or 0)


async def key_counts(session: AsyncSession) -> tuple[int, int]:
    """(active keys, keys ever registered): revoked keys still count as "this server had keys"."""
    active = func.count().filter(ApiKey.revoked_at.is_(None))
    row = (await session.execute(select(active, func.count()).select_from(ApiKey))).one()
    return int(row[0]), int(row[1])


async def open_mode_objects(session: AsyncSession) -> int:
    """Files and vector stores made while the server was open (they belong to `default`)."""
    counts = [
        select(func.count()).select_from(model).where(model.project_id == DEFAULT_PROJECT_ID)
        for model in (File, VectorStore)
    ]
    return sum([int(await session.scalar(query) or 0) for query in counts])


async def authenticate(
    sessionmaker: async_sessionmaker[AsyncSession], key: str
) -> uuid.UUID | None:
    """The project a presented key belongs to, or None.

    One short transaction of its own, committed before the request body is read, so
    a slow upload holds neither a pooled connection nor a lock on the key's row."""
    digest = hash_key(key)
    async with sessionmaker() as session, session.begin():
        row = (
            await session.execute(
                select(ApiKey.id, ApiKey.project_id, ApiKey.key_hash).where(
                    ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None)
                )
            )
        ).first()
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            return None
        await _touch(session, row.id)
    return uuid.UUID(str(row.project_id))


async def _touch(session: AsyncSession, key_id: uuid.UUID) -> None:
    """Mark the key used at most once a minute, and never wait for another request's lock."""
    stale = select(ApiKey.id).where(
        ApiKey.id == key_id,
        or_(
            ApiKey.last_used_at.is_(None),
            ApiKey.last_used_at < func.now() - timedelta(seconds=TOUCH_EVERY_SECONDS),
        ),
    )
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id.in_(stale.with_for_update(skip_locked=True)))
        .values(last_used_at=func.now())
    )
