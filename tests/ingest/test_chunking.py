"""Chunker: token windows that respect the limit, overlap as asked, and cover the text."""

from __future__ import annotations

import random
from itertools import accumulate, pairwise

import pytest
import tiktoken

from maia_vectordb.ingest.chunking import AUTO, ENCODING, Chunk, Chunker, ChunkingConfig

STATIC = ChunkingConfig(max_tokens=100, overlap_tokens=50)
WORDS = [
    "vector", "store", "search", "PostgreSQL", "naïve", "Ελληνικά", "русский", "日本語の",
    "テキスト", "中文字符", "한국어", "😀", "👩‍👩‍👧", "🇯🇵", "∑∫√", "\n", "\t", "<|endoftext|>",
]  # fmt: skip


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    return Chunker()


def multilingual(words: int, seed: int = 7) -> str:
    """Random words of several scripts and emoji; numbers make every stretch unique."""
    rng = random.Random(seed)
    return "".join(
        f"{rng.choice(WORDS)}{rng.randrange(10_000)}{rng.choice(' 。,')}" for _ in range(words)
    )


def positions(text: str, chunks: list[Chunk]) -> list[tuple[int, int]]:
    """Where each chunk sits in the text, searching forward from the previous one."""
    spans: list[tuple[int, int]] = []
    start = 0
    for chunk in chunks:
        start = text.index(chunk.text, start)
        spans.append((start, start + len(chunk.text)))
        start += 1
    return spans


class TestChunkingConfig:
    def test_auto_is_800_tokens_with_400_overlap(self) -> None:
        assert (AUTO.max_tokens, AUTO.overlap_tokens) == (800, 400)

    @pytest.mark.parametrize(("max_tokens", "overlap"), [(0, 0), (10, -1), (10, 10), (10, 11)])
    def test_rejects_impossible_bounds(self, max_tokens: int, overlap: int) -> None:
        with pytest.raises(ValueError):
            ChunkingConfig(max_tokens=max_tokens, overlap_tokens=overlap)


class TestCountTokens:
    def test_counts_cl100k_tokens(self, chunker: Chunker) -> None:
        assert chunker.count_tokens("hello world") == 2

    def test_treats_special_token_text_as_ordinary_text(self, chunker: Chunker) -> None:
        assert chunker.count_tokens("<|endoftext|>") > 1


class TestChunk:
    def test_short_text_is_one_chunk(self, chunker: Chunker) -> None:
        text = "A short note about vector stores."
        assert chunker.chunk(text, AUTO) == [Chunk(0, text, chunker.count_tokens(text))]

    def test_empty_text_has_no_chunks(self, chunker: Chunker) -> None:
        assert chunker.chunk("", AUTO) == []

    @pytest.mark.parametrize("config", [AUTO, STATIC, ChunkingConfig(7, 3), ChunkingConfig(5, 0)])
    def test_no_chunk_exceeds_max_tokens_when_re_encoded(
        self, chunker: Chunker, config: ChunkingConfig
    ) -> None:
        chunks = chunker.chunk(multilingual(3000), config)
        assert len(chunks) > 1
        for chunk in chunks:
            assert chunk.token_count == chunker.count_tokens(chunk.text) <= config.max_tokens

    @pytest.mark.parametrize("config", [STATIC, ChunkingConfig(5, 2)])
    def test_never_splits_a_character(self, chunker: Chunker, config: ChunkingConfig) -> None:
        chunks = chunker.chunk(multilingual(1000), config)
        assert not any("\ufffd" in chunk.text for chunk in chunks)

    def test_keeps_a_character_whole_even_if_it_exceeds_a_tiny_limit(
        self, chunker: Chunker
    ) -> None:
        chunks = chunker.chunk("😀😀", ChunkingConfig(max_tokens=1, overlap_tokens=0))
        assert [chunk.text for chunk in chunks] == ["😀", "😀"]

    def test_indexes_count_from_zero(self, chunker: Chunker) -> None:
        chunks = chunker.chunk(multilingual(1000), STATIC)
        assert [chunk.index for chunk in chunks] == list(range(len(chunks)))

    def test_static_100_50_fills_windows_and_overlaps_by_about_half(self, chunker: Chunker) -> None:
        text = multilingual(1000)
        chunks = chunker.chunk(text, STATIC)
        assert all(chunk.token_count >= 90 for chunk in chunks[:-1])
        for (_, end), (next_start, _) in pairwise(positions(text, chunks)):
            assert 40 <= chunker.count_tokens(text[next_start:end]) <= 60

    def test_consecutive_chunks_share_text_when_overlapping(self, chunker: Chunker) -> None:
        text = multilingual(2000)
        spans = positions(text, chunker.chunk(text, AUTO))
        assert all(next_start < end for (_, end), (next_start, _) in pairwise(spans))

    def test_chunks_without_overlap_concatenate_to_the_text(self, chunker: Chunker) -> None:
        text = multilingual(2000)
        chunks = chunker.chunk(text, ChunkingConfig(max_tokens=100, overlap_tokens=0))
        assert "".join(chunk.text for chunk in chunks) == text

    def test_overlapping_chunks_cover_the_text_from_start_to_end(self, chunker: Chunker) -> None:
        text = multilingual(2000)
        spans = positions(text, chunker.chunk(text, STATIC))
        assert spans[0][0] == 0
        assert spans[-1][1] == len(text)
        assert all(next_start <= end for (_, end), (next_start, _) in pairwise(spans))

    def test_is_deterministic(self, chunker: Chunker) -> None:
        text = multilingual(2000)
        assert chunker.chunk(text, AUTO) == Chunker().chunk(text, AUTO)

    def test_lone_surrogates_are_replaced_not_fatal(self, chunker: Chunker) -> None:
        assert chunker.chunk("a\ud800b", AUTO)[0].text == "a\ufffdb"

    def test_token_offsets_are_those_of_the_ordinary_encoding(self, chunker: Chunker) -> None:
        """Offsets come from an array encoding; its tokens are `encode_ordinary`'s, special
        token text included."""
        text = multilingual(500) + "<|endoftext|><|fim_prefix|>"
        encoding = tiktoken.get_encoding(ENCODING)
        sizes = [len(encoding.decode_single_token_bytes(t)) for t in encoding.encode_ordinary(text)]
        assert chunker._tokenise(text).starts == list(accumulate(sizes, initial=0))
