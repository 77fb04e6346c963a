"""BEIR data and the trec_eval measures the quality benchmark reports.

nDCG@k as trec_eval's `ndcg_cut` (and so BEIR) computes it: gain = the graded
relevance, discount log2(rank + 1), the ideal ranking from the judged documents;
Recall@k = relevant documents in the top k / relevant documents judged. A query with
no result scores 0 on both.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

Qrels = dict[str, dict[str, int]]


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    text: str

    def body(self) -> str:
        return f"{self.title}\n\n{self.text}" if self.title else self.text


def corpus(folder: Path) -> Iterator[Document]:
    with (folder / "corpus.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            yield Document(str(row["_id"]), row.get("title") or "", row.get("text") or "")


def qrels(folder: Path, split: str) -> Qrels:
    judged: Qrels = defaultdict(dict)
    with (folder / "qrels" / f"{split}.tsv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            judged[row["query-id"]][row["corpus-id"]] = int(row["score"])
    return dict(judged)


def queries(folder: Path, wanted: Qrels) -> dict[str, str]:
    found: dict[str, str] = {}
    with (folder / "queries.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if str(row["_id"]) in wanted:
                found[str(row["_id"])] = row["text"]
    return found


def ndcg(ranked: Sequence[str], judged: dict[str, int], k: int) -> float:
    dcg = sum(judged.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    best = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best > 0 else 0.0


def recall(ranked: Sequence[str], judged: dict[str, int], k: int) -> float:
    relevant = {doc for doc, g in judged.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)
