"""Which model embeds each store's queries, as searches have found it.

A store's model is fixed when the store is created, so once a search has looked a
store up, the next one can start embedding its query while it looks the store up
again (`services.search`): the embedding call and the database round trip overlap
instead of following each other. Held on the app state; bounded, least recently
used out first. A stale entry (a store deleted since) costs one embedding call; the
lookup still answers 404.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict

from maia_vectordb.embeddings.spec import ModelSpec

DEFAULT_MAX_ENTRIES = 10_000

StoreKey = tuple[uuid.UUID, str]
"""(project, store id): a store is only ever known within its own project."""


class StoreModels:
    """(project, store) -> the store's model; `put` after a lookup found the store."""

    def __init__(self, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[StoreKey, ModelSpec] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: StoreKey) -> ModelSpec | None:
        model = self._entries.get(key)
        if model is not None:
            self._entries.move_to_end(key)
        return model

    def put(self, key: StoreKey, model: ModelSpec) -> None:
        self._entries[key] = model
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
