"""Fusion study: both legs fetched once per query through the API, fused offline with
every candidate method of `maia_vectordb.services.ranking` (the functions the service
runs), scored with the same nDCG@10 / Recall@10. Chooses the hybrid default by
measurement instead of by taste."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import quality_metrics as qm
from harness import markdown_table

from maia_vectordb.services.ranking import Ranked, convex_fusion, reciprocal_rank_fusion

DEPTH = 40
ALPHAS = (0.3, 0.4, 0.5, 0.6, 0.7)
RRF_KS = (10, 30, 60)


@dataclass(frozen=True)
class Item:
    chunk_id: int
    score: float
    doc_id: str


Legs = tuple[list[Item], list[Item]]
Fuser = Callable[[Legs], list[str]]


async def _leg(client: httpx.AsyncClient, store_id: str, mode: str, query: str) -> list[Item]:
    body = {"query": query, "max_num_results": DEPTH, "search_mode": mode}
    response = await client.post(f"/v1/vector_stores/{store_id}/search", json=body)
    response.raise_for_status()
    seen: dict[str, Item] = {}
    for hit in response.json()["data"]:
        doc = hit["attributes"]["doc_id"]
        seen.setdefault(doc, Item(len(seen), hit["score"], doc))
    return list(seen.values())


def _ids(fused: Sequence[tuple[Item, float]]) -> list[str]:
    return list(dict.fromkeys(item.doc_id for item, _ in fused))


def _distinct(legs: Legs) -> tuple[Ranked[Item], Ranked[Item]]:
    """Chunk ids unique across both legs: the same document shares one id."""
    ids: dict[str, int] = {}
    vector, keyword = (
        [Item(ids.setdefault(i.doc_id, len(ids)), i.score, i.doc_id) for i in leg] for leg in legs
    )
    return Ranked(vector, 1.0), Ranked(keyword, 1.0)


def fusers() -> dict[str, Fuser]:
    table: dict[str, Fuser] = {}
    for k in RRF_KS:
        table[f"rrf k={k}"] = lambda legs, k=k: _ids(reciprocal_rank_fusion(_distinct(legs), k))
    pairs = [(n, n) for n in ("none", "max", "minmax", "zscore")] + [("none", "max")]
    for vector_norm, text_norm in pairs:
        for alpha in ALPHAS:
            name = f"convex {vector_norm}/{text_norm}, vector weight {alpha}"
            table[name] = partial(
                _convex, vector_norm=vector_norm, text_norm=text_norm, alpha=alpha
            )
    return table


def _convex(legs: Legs, *, vector_norm: Any, text_norm: Any, alpha: float) -> list[str]:
    vector, keyword = _distinct(legs)
    weighted = [
        Ranked(vector.hits, alpha, vector_norm),
        Ranked(keyword.hits, 1 - alpha, text_norm),
    ]
    return _ids(convex_fusion(weighted))


async def study(
    client: httpx.AsyncClient, store_id: str, queries: dict[str, str], judged: qm.Qrels
) -> str:
    legs = {
        qid: (await _leg(client, store_id, "vector", q), await _leg(client, store_id, "keyword", q))
        for qid, q in queries.items()
    }
    rows = []
    for name, fuse in fusers().items():
        ranked = {qid: fuse(pair) for qid, pair in legs.items()}
        ndcg = statistics.fmean(qm.ndcg(ranked[q], judged[q], 10) for q in legs)
        recall = statistics.fmean(qm.recall(ranked[q], judged[q], 10) for q in legs)
        rows.append([name, f"{ndcg:.4f}", f"{recall:.4f}"])
    rows.sort(key=lambda row: row[1], reverse=True)
    return markdown_table([f"fusion (depth {DEPTH})", "nDCG@10", "Recall@10"], rows)
