"""A window's token count from the text's own tokens, re-encoding only its two ends.

tiktoken splits a text into pieces with its pattern and encodes each piece on its
own, so two texts that split into the same pieces between two points have the same
tokens there. With cl100k's pattern, a space that follows an ASCII letter always
ends a piece: every alternative that can take a letter stops before a space, and
none that takes a space can reach back across a letter. Whatever the split did
before such a point, it restarts there, and what it does up to the next such point
reads no further than that point's space. So a window that holds two of them
splits, between them, exactly as the whole text did, and its count is the tokens of
its head, the text's own tokens in between, and the tokens of its tail: the same
number as re-encoding the whole window, for a fraction of the work (every token of
a text sits in two 50 %-overlapping windows, and re-encoding them cost twice as
much as encoding the text).

Only cl100k's pattern is reasoned about here; any other pattern re-encodes whole
windows, and so does a window with no such point in it.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable

import tiktoken

CL100K_PATTERN = (
    r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"
    r"|\s++$|\s*[\r\n]|\s+(?!\S)|\s"
)
# The space's offset is where the piece ends: match.end() - 1.
_FIRST_END = re.compile(rb"[A-Za-z] ")
_LAST_END = re.compile(rb"(?s:.*)[A-Za-z] ")

Counter = Callable[[str], int]


def splits_at_word_ends(encoding: tiktoken.Encoding) -> bool:
    """Whether `encoding` splits text with the pattern this module reasons about (read
    from a private attribute: a tiktoken without it re-encodes whole windows)."""
    return getattr(encoding, "_pat_str", None) == CL100K_PATTERN


def window_count(
    data: bytes, starts: list[int], start: int, end: int, count: Counter
) -> int | None:
    """Tokens of `data[starts[start]:starts[end]]` re-encoded alone, or None when the
    window holds no piece end to reuse the text's own tokens between.

    `starts` holds the byte offset of each of the text's tokens (and its end)."""
    low, high = starts[start], starts[end]
    first = _FIRST_END.search(data, low, high)
    if first is None:
        return None
    head_end = first.end() - 1
    last = _LAST_END.match(data, head_end - 1, high)
    tail_start = last.end() - 1 if last is not None else head_end
    inner_start = bisect_left(starts, head_end, start, end)
    inner_end = bisect_left(starts, tail_start, inner_start, end)
    if starts[inner_start] != head_end or starts[inner_end] != tail_start:
        return None  # not token boundaries of the text: cannot happen, by the reasoning above
    head = count(data[low:head_end].decode())
    tail = count(data[tail_start:high].decode())
    return head + (inner_end - inner_start) + tail
