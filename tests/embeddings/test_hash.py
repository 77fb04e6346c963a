"""HashEmbeddings: deterministic, offline, lexical vectors of unit length."""

from __future__ import annotations

import math

import pytest

from maia_vectordb.embeddings import HashEmbeddings


def cosine(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


def norm(vector: list[float]) -> float:
    return math.sqrt(math.fsum(x * x for x in vector))


@pytest.fixture
def local() -> HashEmbeddings:
    return HashEmbeddings(256)


class TestDeterminism:
    async def test_same_text_same_vector_across_instances(self) -> None:
        first = await HashEmbeddings(64).embed(["the quick brown fox"])
        second = await HashEmbeddings(64).embed(["the quick brown fox"])
        assert first == second

    async def test_vectors_are_pinned_so_stored_chunks_stay_comparable(self) -> None:
        # Python's hash() is salted per process; these values must never change between runs.
        [vector] = await HashEmbeddings(8).embed(["hello world"])
        assert vector == pytest.approx([0.0, -2 / 3, 0.0, 0.0, 0.0, -2 / 3, 1 / 3, 0.0])

    async def test_ignores_case_and_punctuation(self, local: HashEmbeddings) -> None:
        a, b = await local.embed(["Hello, World!", "hello world"])
        assert a == b

    async def test_large_batches_match_small_ones(self, local: HashEmbeddings) -> None:
        inputs = [f"document {i} about topic {i % 7}" for i in range(100)]
        assert await local.embed(inputs) == [(await local.embed([t]))[0] for t in inputs]


class TestShape:
    async def test_vectors_have_the_configured_width_and_unit_norm(
        self, local: HashEmbeddings
    ) -> None:
        vectors = await local.embed(["one", "two words", "a somewhat longer sentence " * 20])
        for vector in vectors:
            assert len(vector) == 256
            assert norm(vector) == pytest.approx(1.0)

    @pytest.mark.parametrize("text", ["", "   ", "!!! ---"])
    async def test_text_without_words_gets_a_fixed_unit_vector(
        self, local: HashEmbeddings, text: str
    ) -> None:
        [vector] = await local.embed([text])
        assert norm(vector) == pytest.approx(1.0)
        assert vector == (await local.embed([""]))[0]

    def test_names_itself_hash(self, local: HashEmbeddings) -> None:
        assert (local.model, local.dimensions) == ("hash", 256)

    def test_rejects_zero_dimensions(self) -> None:
        with pytest.raises(ValueError, match="dimensions"):
            HashEmbeddings(0)


class TestSimilarity:
    async def test_texts_sharing_words_score_higher_than_unrelated_ones(
        self, local: HashEmbeddings
    ) -> None:
        query, related, unrelated = await local.embed(
            [
                "how do I reset my password",
                "to reset your password open the account settings",
                "the recipe needs flour, eggs and sugar",
            ]
        )
        assert cosine(query, related) > cosine(query, unrelated) + 0.2

    async def test_word_order_matters_a_little_through_bigrams(self, local: HashEmbeddings) -> None:
        a, same, swapped = await local.embed(["new york city", "new york city", "city york new"])
        assert cosine(a, same) == pytest.approx(1.0)
        assert 0.5 < cosine(a, swapped) < 1.0
