"""PDF: the text layer of every page, as pypdf lays it out."""

from __future__ import annotations

import io

from pypdf import PasswordType, PdfReader

from maia_vectordb.ingest.parsers.errors import InvalidFile, unreadable_as_invalid


@unreadable_as_invalid("PDF")
def parse_pdf(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    # Many PDFs are encrypted only to restrict printing and open with no password.
    if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise InvalidFile("The PDF is protected by a password")
    return "\n\n".join(page.extract_text() for page in reader.pages)
