"""A small upload's multipart body, parsed once, straight into bytes.

Starlette's form parser writes every file into a temporary file object (through its
async file API), wraps it in an `UploadFile` and a `FormData`, and the upload then reads
it back: about a tenth of an upload's CPU in the app (docs/benchmarks.md). A multipart
body that declares a length of at most `SMALL_BODY_BYTES` (what Starlette would hold in
memory anyway) is parsed here instead, by the same `python-multipart` parser with the
same limits and error messages as `Request.form(max_files=1, max_fields=16)`; any other
body (larger, chunked, or not multipart) still goes through Starlette, which spools
large files to disk.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from typing import TYPE_CHECKING

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from maia_vectordb.errors import InvalidRequest

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_FILES = 1
MAX_FIELDS = 16
MAX_FIELD_BYTES = 1024 * 1024
"""Starlette's `max_part_size` for a field that is not a file."""
SMALL_BODY_BYTES = 1024 * 1024
"""Starlette keeps a file this large in memory too (its spool size): no more memory."""


@dataclass(frozen=True)
class FilePart:
    filename: str
    data: bytes


SmallForm = dict[str, str | FilePart]
"""Each name's last value, as Starlette's `FormData.get` gives it."""


def is_small_multipart(request: Request) -> bool:
    declared = request.headers.get("content-length", "")
    content_type = request.headers.get("content-type", "").lower()
    return (
        content_type.startswith("multipart/form-data")
        and declared.isdigit()
        and int(declared) <= SMALL_BODY_BYTES
    )


async def read_small_form(request: Request) -> SmallForm:
    """The whole form; a malformed body is a 400 with Starlette's message for it."""
    _, options = parse_options_header(request.headers["content-type"])
    boundary = options.get(b"boundary")
    if not boundary:
        raise InvalidRequest("Missing boundary in multipart.")
    builder = _Builder(_charset(options.get(b"charset")))
    parser = MultipartParser(boundary, builder.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except FormParserError:
        raise InvalidRequest("Invalid multipart data.") from None
    return builder.form


def _charset(given: bytes | None) -> str:
    try:
        return codecs.lookup((given or b"utf-8").decode("latin-1")).name
    except LookupError:
        return "latin-1"


def _decode(value: bytes, charset: str) -> str:
    """Starlette's `_user_safe_decode`."""
    try:
        return value.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return value.decode("latin-1")


class _Builder:
    """The parser's callbacks: one part's headers and data at a time."""

    def __init__(self, charset: str) -> None:
        self.charset = charset
        self.form: SmallForm = {}
        self.header_name = self.header_value = self.disposition = b""
        self.name: str = ""
        self.filename: str | None = None
        self.data: list[bytes] = []
        self.size = self.files = self.fields = 0

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def on_part_begin(self) -> None:
        self.disposition, self.filename, self.data, self.size = b"", None, [], 0

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if self.header_name.lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        if b"name" not in options:
            raise InvalidRequest('The Content-Disposition header field "name" must be provided.')
        self.name = _decode(options[b"name"], self.charset)
        if b"filename" in options:
            self.files += 1
            if self.files > MAX_FILES:
                raise InvalidRequest(f"Too many files. Maximum number of files is {MAX_FILES}.")
            self.filename = _decode(options[b"filename"], self.charset)
            return
        self.fields += 1
        if self.fields > MAX_FIELDS:
            raise InvalidRequest(f"Too many fields. Maximum number of fields is {MAX_FIELDS}.")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self.size += end - start
        if self.filename is None and self.size > MAX_FIELD_BYTES:
            raise InvalidRequest(f"Part exceeded maximum size of {MAX_FIELD_BYTES // 1024}KB.")
        self.data.append(data[start:end])

    def on_part_end(self) -> None:
        data = b"".join(self.data)
        if self.filename is None:
            self.form[self.name] = _decode(data, self.charset)
        else:
            self.form[self.name] = FilePart(self.filename, data)
