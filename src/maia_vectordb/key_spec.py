"""`MAIA_API_KEYS` parsing and the minimum key length, shared by settings and the keys service.

Kept free of database imports so the settings can reject a bad key at start-up.
"""

from __future__ import annotations

MIN_KEY_CHARS = 16


class WeakKey(ValueError):
    """An API key too short to resist guessing."""


def check_key(key: str) -> str:
    if len(key) < MIN_KEY_CHARS:
        raise WeakKey(
            f"API keys must be at least {MIN_KEY_CHARS} characters long "
            f"(got one of {len(key)}); `maia-vectordb keys create` mints suitable keys."
        )
    return key


def parse_key_spec(spec: str) -> list[tuple[str, str]]:
    """Comma-separated `key` (default project) or `project:key` entries, each long enough."""
    pairs: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        project, _, key = entry.rpartition(":")
        project = project or "default"
        if pairs.setdefault(check_key(key), project) != project:
            raise ValueError(
                f"the key {key[:12]}… is listed for projects '{pairs[key]}' and '{project}': "
                "a key opens one project"
            )
    return [(project, key) for key, project in pairs.items()]
