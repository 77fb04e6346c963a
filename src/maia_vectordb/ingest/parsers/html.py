"""HTML: only what a reader sees, one block element per line."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

from maia_vectordb.ingest.parsers.text import decode

HIDDEN = ["script", "style", "noscript", "template", "head"]
CELLS = ["td", "th"]
BLOCKS = [
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl",
    "dt", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
]  # fmt: skip
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")


def parse_html(data: bytes) -> str:
    soup = BeautifulSoup(_markup(decode(data)), "html.parser")
    for tag in soup.find_all(HIDDEN):
        tag.extract()
    for tag in soup.find_all(CELLS):
        tag.insert_after(" ")
    for tag in soup.find_all(BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    return _tidy(soup.get_text())


def _markup(text: str) -> str:
    """Sidestep Beautiful Soup's warnings, which tests turn into errors.

    It warns when short markup without a newline looks like a file name or URL,
    and when an XML declaration precedes a root other than <html>. Neither
    changes what is extracted from an uploaded page.
    """
    return "\n" + XML_DECLARATION.sub("", text, count=1)


def _tidy(text: str) -> str:
    """Collapse source indentation and blank lines, which only cost tokens."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)
