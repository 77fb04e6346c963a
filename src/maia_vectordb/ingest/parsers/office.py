"""Word and PowerPoint files: paragraphs, text boxes and table cells."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

import docx
import pptx
from docx.table import Table
from pptx.shapes.autoshape import Shape
from pptx.shapes.base import BaseShape
from pptx.shapes.graphfrm import GraphicFrame
from pptx.shapes.group import GroupShape
from pptx.slide import Slide

from maia_vectordb.ingest.parsers.archive import unpacked
from maia_vectordb.ingest.parsers.budget import Budget
from maia_vectordb.ingest.parsers.errors import unreadable_as_invalid


class _Cell(Protocol):
    @property
    def text(self) -> str: ...


class _Row(Protocol):
    """A table row of either library: both expose their cells' text."""

    @property
    def cells(self) -> Iterable[_Cell]: ...


@unreadable_as_invalid("Word document")
def parse_docx(data: bytes, budget: Budget) -> str:
    document = docx.Document(unpacked(data, budget))
    blocks = (
        _rows_text(block.rows) if isinstance(block, Table) else block.text
        for block in document.iter_inner_content()
    )
    return "\n".join(_counted(blocks, budget))


@unreadable_as_invalid("PowerPoint presentation")
def parse_pptx(data: bytes, budget: Budget) -> str:
    presentation = pptx.Presentation(unpacked(data, budget))
    slides = (_slide_text(slide) for slide in presentation.slides)
    return "\n\n".join(text for text in _counted(slides, budget) if text)


def _counted(texts: Iterable[str], budget: Budget) -> Iterator[str]:
    """Charge each piece to the budget as it is produced, so a limit stops the walk."""
    for text in texts:
        budget.check_time()
        budget.add_text(len(text))
        yield text


def _slide_text(slide: Slide) -> str:
    texts = (_shape_text(shape) for shape in _flatten(slide.shapes))
    return "\n".join(text for text in texts if text)


def _flatten(shapes: Iterable[BaseShape]) -> Iterator[BaseShape]:
    """Groups nest shapes to any depth; their text belongs to the slide too."""
    for shape in shapes:
        if isinstance(shape, GroupShape):
            yield from _flatten(shape.shapes)
        else:
            yield shape


def _shape_text(shape: BaseShape) -> str:
    if isinstance(shape, Shape):
        return str(shape.text_frame.text)
    if isinstance(shape, GraphicFrame) and shape.has_table:
        return _rows_text(shape.table.rows)
    return ""


def _rows_text(rows: Iterable[_Row]) -> str:
    """One line per table row, cells separated by tabs."""
    return "\n".join("\t".join(cell.text for cell in row.cells) for row in rows)
