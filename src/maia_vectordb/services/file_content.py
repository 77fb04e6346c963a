"""A store file's parsed text, served in pages so no response carries a whole book.

The text can reach `INGEST_MAX_TEXT_CHARS` (tens of MB): PostgreSQL cuts the
page out (`substr` counts characters, so no character is split), and Python
never holds more than one page of it.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from maia_vectordb.db.queries import vector_store_files as queries
from maia_vectordb.schemas.vector_store_files import ContentPart, FileContentPage
from maia_vectordb.services.vector_store_files import attachment_not_found

PAGE_CHARS = 1_000_000
# A page ends after its last line break when one falls in its second half.
MIN_PAGE_SHARE = 0.5


async def content_page(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    vector_store_id: str,
    file_id: str,
    start: int = 0,
    page_chars: int = PAGE_CHARS,
) -> FileContentPage:
    """Up to `page_chars` characters from `start`; `next_page` is where the next page starts."""
    row = await queries.content_slice(
        session,
        project_id=project_id,
        vector_store_id=vector_store_id,
        file_id=file_id,
        start=start,
        chars=page_chars,
    )
    if row is None:
        raise attachment_not_found(vector_store_id, file_id)
    length, piece = row
    if not piece:
        return FileContentPage(data=[])
    end = start + len(piece)
    if end < length:
        piece = _at_line_end(piece)
        end = start + len(piece)
    more = end < length
    return FileContentPage(
        data=[ContentPart(text=piece)], has_more=more, next_page=str(end) if more else None
    )


def _at_line_end(piece: str) -> str:
    cut = piece.rfind("\n")
    return piece[: cut + 1] if cut >= len(piece) * MIN_PAGE_SHARE else piece
