"""Window token counts that reuse the text's tokens equal re-encoding the window alone."""

from __future__ import annotations

import random

import pytest
import tiktoken

from maia_vectordb.ingest.chunking import AUTO, ENCODING, Chunker, ChunkingConfig
from maia_vectordb.ingest.token_windows import splits_at_word_ends, window_count

# Pieces the cl100k pattern treats differently: contractions, letters of several scripts,
# digit runs, whitespace of every kind (runs, newlines, NBSP, ideographic), punctuation,
# combining marks, emoji, special-token text.
ATOMS = [
    "a", "b", "Z", "s", "t", "ll", "ve", "re", "'", "\u2019", " ", "  ", "   ", "\n", "\r\n",
    "\n\n", "\t", "\u00a0", "\u3000", "1", "23", "4567", ".", ",", "!?", "...", "-", "_", "(", ")",
    "é", "ß", "naïve", "日本", "語", "😀", "👩‍👩‍👧", "\u0301", "Ω", "ё", "<|endoftext|>", "http://x.y/z",
    "'S", "'LL", " the", " and", "word", "Word", "WORD", "x'", " '", "''", "\u200b", "١٢٣",
    "\U0001d518",
]  # fmt: skip


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    return Chunker()


def random_text(rng: random.Random) -> str:
    weights = [rng.random() ** 3 for _ in ATOMS]  # each text leans on a few atoms
    return "".join(rng.choices(ATOMS, weights=weights, k=rng.randint(1, 200)))


def test_the_chunkers_encoding_is_the_pattern_reasoned_about() -> None:
    assert splits_at_word_ends(tiktoken.get_encoding(ENCODING))


def test_other_patterns_are_not_reasoned_about() -> None:
    byte_ranks = {bytes([byte]): byte for byte in range(256)}
    words = tiktoken.Encoding(
        "words", pat_str=r"\S+|\s+", mergeable_ranks=byte_ranks, special_tokens={}
    )
    assert not splits_at_word_ends(words)


@pytest.mark.parametrize("seed", range(4))
def test_equals_re_encoding_the_window(chunker: Chunker, seed: int) -> None:
    rng = random.Random(seed)
    reused = 0
    for _ in range(400):
        tokens = chunker._tokenise(random_text(rng))
        for _ in range(10):
            start = tokens.boundary_at_or_before(rng.randrange(tokens.count + 1))
            end = tokens.boundary_at_or_before(rng.randrange(start, tokens.count + 1))
            if end <= start:
                continue
            count = window_count(tokens.data, tokens.starts, start, end, chunker.count_tokens)
            if count is not None:
                reused += 1
                assert count == chunker.count_tokens(tokens.text(start, end))
    assert reused > 500


def test_a_window_without_a_word_end_is_left_to_re_encoding(chunker: Chunker) -> None:
    tokens = chunker._tokenise("日本語のテキスト 12345 ... 한국어")
    assert window_count(tokens.data, tokens.starts, 0, tokens.count, chunker.count_tokens) is None


@pytest.mark.parametrize("config", [AUTO, ChunkingConfig(100, 50), ChunkingConfig(9, 4)])
def test_chunk_counts_are_the_chunks_own(chunker: Chunker, config: ChunkingConfig) -> None:
    """Prose, where nearly every window reuses the text's tokens: each count is still the
    chunk re-encoded, so boundaries are where re-encoding every window put them."""
    rng = random.Random(11)
    words = ["it's", "they'll", "the", "store's", "vectors", "naïve", "1,024", "x86", "(sic)"]
    text = " ".join(rng.choice(words) for _ in range(6000)).replace("the the", "the\n\nthe")
    chunks = chunker.chunk(text, config)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.token_count == chunker.count_tokens(chunk.text) <= config.max_tokens
