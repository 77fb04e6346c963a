"""A repeat search's query embedded while its store is looked up, not after.

A store's model is fixed when the store is created, so the registry remembers it
(`embeddings.store_models`) and a search of a store seen before starts its embedding
call next to the lookup's database round trip. The call is dropped if the lookup
fails or finds no store: a store deleted since still answers 404.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from maia_vectordb.db import search as queries
from maia_vectordb.db.driver_sql import Runner
from maia_vectordb.embeddings import EmbedderRegistry, ModelSpec
from maia_vectordb.embeddings.store_models import StoreKey
from maia_vectordb.services import vector_stores


@dataclass(frozen=True)
class EarlyEmbedding:
    """Query vectors already on their way, from the model the store had last time."""

    model: ModelSpec
    task: asyncio.Task[list[list[float]]]

    def discard(self) -> None:
        """Not wanted after all (no such store, or its lookup failed): cancelled, and a
        failure it already met is taken so that nothing reports it as unretrieved."""
        self.task.cancel()
        self.task.add_done_callback(_take_outcome)


def _take_outcome(task: asyncio.Task[list[list[float]]]) -> None:
    if not task.cancelled():
        task.exception()


def embed_early(
    embedders: EmbedderRegistry, key: StoreKey, texts: list[str], wanted: bool
) -> EarlyEmbedding | None:
    """A store searched before has a known model (it never changes): its queries are
    embedded while the store is looked up, not after."""
    model = embedders.store_models.get(key) if wanted else None
    if model is None or model not in embedders.offered:
        return None
    embedding = embedders.query_cache(model).embed_queries(texts)
    return EarlyEmbedding(model, asyncio.create_task(embedding))


async def open_store(
    session: Runner,
    embedders: EmbedderRegistry,
    key: StoreKey,
    tuning: queries.IndexTuning,
    early: EarlyEmbedding | None,
) -> queries.SearchTarget:
    """The caller's store and its plan (`open_search`), remembered for `_embed_early`."""
    project_id, vector_store_id = key
    try:
        target = await queries.open_search(
            session, project_id=project_id, vector_store_id=vector_store_id, tuning=tuning
        )
    except BaseException:
        if early is not None:
            early.discard()
        raise
    if target is None:
        if early is not None:
            early.discard()
        raise vector_stores.store_not_found(vector_store_id)
    embedders.store_models.put(key, target.model)
    return target
