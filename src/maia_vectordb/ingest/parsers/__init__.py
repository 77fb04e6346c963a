"""Uploaded bytes to plain text, by a parser chosen from the file's extension.

Parsing is CPU-bound and synchronous; callers run it off the event loop. Every
parser spends one `Budget` (text size, inflated size, pages, time), so a hostile
file fails as `InvalidFile` naming the limit it hit.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from types import MappingProxyType

from maia_vectordb.ingest.parsers.budget import Budget, ParseLimits
from maia_vectordb.ingest.parsers.errors import InvalidFile, Parser, UnsupportedFile
from maia_vectordb.ingest.parsers.html import parse_html
from maia_vectordb.ingest.parsers.office import parse_docx, parse_pptx
from maia_vectordb.ingest.parsers.pdf import parse_pdf
from maia_vectordb.ingest.parsers.text import parse_json, parse_text

__all__ = ["InvalidFile", "ParseLimits", "UnsupportedFile", "is_plain_text", "parse"]

# The text formats and source languages OpenAI's file search lists.
TEXT_EXTENSIONS = (
    ".txt", ".md", ".markdown", ".rst", ".tex", ".xml", ".yaml", ".yml", ".toml", ".ini",
    ".py", ".js", ".ts", ".tsx", ".jsx", ".java", ".go", ".c", ".h", ".cpp", ".hpp", ".cc",
    ".cs", ".rb", ".php", ".css", ".rs", ".swift", ".kt", ".scala", ".sql", ".sh", ".bash",
    ".ps1", ".r", ".lua", ".pl", ".m",
)  # fmt: skip
PARSERS: MappingProxyType[str, Parser] = MappingProxyType(
    {
        **dict.fromkeys(TEXT_EXTENSIONS, parse_text),
        ".json": parse_json,
        ".html": parse_html,
        ".htm": parse_html,
        ".pdf": parse_pdf,
        ".docx": parse_docx,
        ".pptx": parse_pptx,
    }
)


def parse(filename: str, data: bytes, limits: ParseLimits | None = None) -> str:
    """The file's text, ready to store: no NULs (PostgreSQL rejects them), `\\n` line ends."""
    parser = _parser_for(filename)
    if not data:
        raise InvalidFile("The file is empty")
    text = parser(data, Budget(limits or ParseLimits())).replace("\x00", "").replace("\r\n", "\n")
    if not text.strip():
        raise InvalidFile("The file contains no extractable text")
    return text


def is_plain_text(filename: str) -> bool:
    """Read by decoding alone (no archive, layout or markup to take apart): such a file
    takes time in proportion to its size, and a parser cannot get stuck on it."""
    return PARSERS.get(PurePosixPath(filename).suffix.lower()) in (parse_text, parse_json)


def _parser_for(filename: str) -> Parser:
    extension = PurePosixPath(filename).suffix.lower()
    parser = PARSERS.get(extension)
    if parser is None:
        shown = f"extension {extension}" if extension else "no extension"
        raise UnsupportedFile(f"Files with {shown} are not supported for search")
    return parser
