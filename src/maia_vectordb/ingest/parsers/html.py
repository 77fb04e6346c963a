"""HTML: only what a reader sees, one block element per line.

A streaming pass over libxml2's HTML tokenizer (lxml's parser-target
interface), never a tree: each tag costs the same however many came before it,
so a 50k-deep `<div>` nest or a 400 KiB table parses in time linear in its size.
The standard library's `html.parser` is not used: on Python 3.11 unclosed
constructs (`<a x` repeated) make it quadratic.
"""

from __future__ import annotations

from lxml import etree

from maia_vectordb.ingest.parsers.budget import Budget
from maia_vectordb.ingest.parsers.errors import unreadable_as_invalid
from maia_vectordb.ingest.parsers.text import decode

HIDDEN = frozenset({"script", "style", "noscript", "template", "head"})
CELLS = frozenset({"td", "th"})
BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl",
    "dt", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
})  # fmt: skip
TAGS_PER_TIME_CHECK = 4096


@unreadable_as_invalid("HTML page")
def parse_html(data: bytes, budget: Budget) -> str:
    extractor = _Extractor(budget)
    parser = etree.HTMLParser(target=extractor, recover=True, no_network=True, huge_tree=True)
    parser.feed(decode(data))
    parser.close()
    return _tidy(extractor.text())


class _Extractor:
    """Visible text with a line break around each block and a space around each cell."""

    def __init__(self, budget: Budget) -> None:
        self._budget = budget
        self._open_hidden: dict[str, int] = dict.fromkeys(HIDDEN, 0)
        self._hidden = 0
        self._tags = 0
        self._pieces: list[str] = []

    def text(self) -> str:
        return "".join(self._pieces)

    def start(self, tag: str, attrib: object) -> None:
        if tag in HIDDEN:
            self._open_hidden[tag] += 1
            self._hidden += 1
        self._separate(tag)

    def end(self, tag: str) -> None:
        if tag in HIDDEN and self._open_hidden[tag]:
            self._open_hidden[tag] -= 1
            self._hidden -= 1
        self._separate(tag)

    def data(self, data: str) -> None:
        if not self._hidden:
            self._budget.add_text(len(data))
            self._pieces.append(data)

    def close(self) -> None:
        """lxml calls this when the document ends; the text is read with `text()`."""

    def _separate(self, tag: str) -> None:
        self._tags += 1
        if self._tags % TAGS_PER_TIME_CHECK == 0:
            self._budget.check_time()
        if tag in BLOCKS:
            self._pieces.append("\n")
        elif tag in CELLS:
            self._pieces.append(" ")


def _tidy(text: str) -> str:
    """Collapse source indentation and blank lines, which only cost tokens."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)
