"""PDF: the text layer of every page, as pypdf lays it out.

The page tree is walked here before pypdf flattens it: a tree whose nodes are
shared (or form a cycle) is how a 2 KB file claims millions of pages, and
flattening it would take that long. Pages are counted against the limit on
the way.
"""

from __future__ import annotations

import io

from pypdf import PasswordType, PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject

from maia_vectordb.ingest.parsers.budget import Budget
from maia_vectordb.ingest.parsers.errors import InvalidFile, unreadable_as_invalid


@unreadable_as_invalid("PDF")
def parse_pdf(data: bytes, budget: Budget) -> str:
    reader = PdfReader(io.BytesIO(data))
    # Many PDFs are encrypted only to restrict printing and open with no password.
    if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
        raise InvalidFile("The PDF is protected by a password")
    check_page_tree(reader.root_object.raw_get("/Pages"), budget.limits.max_pdf_pages)
    texts: list[str] = []
    for page in reader.pages:
        budget.check_time()
        text = page.extract_text()
        budget.add_text(len(text))
        texts.append(text)
    return "\n\n".join(texts)


def check_page_tree(root: PdfObject, max_pages: int) -> None:
    """Every node reached once, at most `max_pages` leaves; iterative, so depth costs no stack."""
    seen: set[tuple[int, int]] = set()
    pending = [root]
    pages = 0
    while pending:
        ref = pending.pop()
        if isinstance(ref, IndirectObject):
            key = (ref.idnum, ref.generation)
            if key in seen:
                raise InvalidFile("The PDF's page tree shares or repeats nodes")
            seen.add(key)
        node = ref.get_object()
        if not isinstance(node, DictionaryObject):
            continue
        kids = node.get("/Kids")
        if isinstance(kids, ArrayObject):
            pending.extend(kids)
        elif "/Kids" not in node:
            pages += 1
            if pages > max_pages:
                raise InvalidFile(f"The PDF has more than the limit of {max_pages} pages")
