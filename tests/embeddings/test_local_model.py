"""The built-in all-MiniLM-L6-v2: meaning, not words; sentence-transformers' exact recipe."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from maia_vectordb.config import Settings
from maia_vectordb.embeddings import LocalModelEmbeddings
from maia_vectordb.embeddings.local import length_batches
from maia_vectordb.embeddings.onnx_model import MAX_TOKENS
from tests.shared_model import SHARED_MODEL, needs_model

pytestmark = needs_model


def cosine(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
async def model() -> LocalModelEmbeddings:
    settings = Settings(
        EMBEDDING_PROVIDER="local",
        EMBEDDING_MODEL_PATH=SHARED_MODEL,
        MAIA_DATA_DIR=Path("/nonexistent"),
        _env_file=None,  # type: ignore[call-arg]
    )
    return LocalModelEmbeddings(settings.embeddings)


class TestLocalModel:
    async def test_vectors_are_384_wide_and_unit_length(self, model: LocalModelEmbeddings) -> None:
        vectors = await model.embed(["a short sentence", "another, somewhat longer sentence"])
        assert [len(v) for v in vectors] == [384, 384]
        assert all(math.isclose(cosine(v, v), 1.0, rel_tol=1e-5) for v in vectors)

    async def test_paraphrase_scores_above_unrelated_text(
        self, model: LocalModelEmbeddings
    ) -> None:
        query, paraphrase, unrelated = await model.embed(
            [
                "How do I look after a puppy?",
                "Caring for a young dog: feeding, walks and vet visits.",
                "Quarterly revenue grew because of lower shipping costs.",
            ]
        )
        assert cosine(query, paraphrase) > cosine(query, unrelated) + 0.2

    async def test_finds_meaning_with_no_shared_words(self, model: LocalModelEmbeddings) -> None:
        query, match, other = await model.embed(
            [
                "automobile repair",
                "fixing cars and trucks",
                "baking bread at home",
            ]
        )
        assert cosine(query, match) > cosine(query, other)

    async def test_batching_does_not_change_vectors(self, model: LocalModelEmbeddings) -> None:
        texts = [f"sentence number {i} " * (1 + i % 7) for i in range(40)]
        together = await model.embed(texts)
        alone = [(await model.embed([text]))[0] for text in texts[:5]]
        for a, b in zip(together[:5], alone, strict=True):
            assert cosine(a, b) > 0.99999

    async def test_truncates_at_256_tokens(self, model: LocalModelEmbeddings) -> None:
        loaded = await model.load()
        long_text = "word " * 1000
        [ids] = loaded.tokenize([long_text])
        assert len(ids) == MAX_TOKENS
        a, b = await model.embed([long_text, "word " * 2000])
        assert cosine(a, b) > 0.99999

    async def test_empty_input_is_empty(self, model: LocalModelEmbeddings) -> None:
        assert await model.embed([]) == []


def test_length_batches_group_similar_lengths_within_a_token_budget() -> None:
    ids = [[1] * n for n in (5, 1, 9, 2, 7)]
    assert length_batches(ids, max_tokens=14, max_inputs=64) == [[1, 3], [0, 4], [2]]
    assert length_batches(ids, max_tokens=15, max_inputs=64) == [[1, 3, 0], [4], [2]]
    assert length_batches(ids, max_tokens=100, max_inputs=2) == [[1, 3], [0, 4], [2]]
    assert length_batches([[1] * 300], max_tokens=100) == [[0]]
