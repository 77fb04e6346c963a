"""Real sample documents (PDF, DOCX, PPTX) built in memory for parser and API tests."""

from __future__ import annotations

import io
import zipfile

import docx
import pptx
from pptx.util import Inches
from pypdf import PdfReader, PdfWriter


def make_pdf(*pages: str) -> bytes:
    """A minimal valid PDF: one line of Helvetica per page, with a correct xref table."""
    count = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
        FONT,
    ]
    for i, text in enumerate(pages):
        objects.extend(_page(parent=2, contents=5 + 2 * i, text=text))
    return _serialise(objects)


def make_pdf_shared_tree(depth: int) -> bytes:
    """A page tree whose every node lists the same child twice: 2**depth pages in ~1 KB."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", FONT]
    nodes = [2] + [4 + i for i in range(depth - 1)]
    page = 4 + depth - 1
    for level, number in enumerate(nodes):
        child = nodes[level + 1] if level + 1 < len(nodes) else page
        kids = f"[{child} 0 R {child} 0 R] /Count {2 ** (depth - level)}"
        objects.insert(number - 1, f"<< /Type /Pages /Kids {kids} >>".encode())
    objects.extend(_page(parent=nodes[-1], contents=page + 1, text="repeated page"))
    return _serialise(objects)


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def _page(*, parent: int, contents: int, text: str) -> list[bytes]:
    """A page object (font 3 0 R) and its content stream, numbered `contents`."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    page = (
        f"<< /Type /Page /Parent {parent} 0 R /MediaBox [0 0 612 792] /Contents {contents} 0 R"
        " /Resources << /Font << /F1 3 0 R >> >> >>"
    )
    return [page.encode(), b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)]


def _serialise(objects: list[bytes]) -> bytes:
    """Objects numbered from 1 in list order, with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def encrypt(pdf: bytes, *, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx(paragraph: str, rows: list[list[str]]) -> bytes:
    document = docx.Document()
    document.add_paragraph(paragraph)
    table = document.add_table(rows=len(rows), cols=len(rows[0]))
    for row, values in zip(table.rows, rows, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_pptx(box_texts: list[str], rows: list[list[str]]) -> bytes:
    """One slide per text box; the table sits on the last slide."""
    presentation = pptx.Presentation()
    layout = presentation.slide_layouts[6]  # blank
    for text in box_texts:
        slide = presentation.slides.add_slide(layout)
        box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1))
        box.text_frame.text = text
    size = (Inches(1), Inches(3), Inches(4), Inches(2))
    frame = slide.shapes.add_table(len(rows), len(rows[0]), *size)
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            frame.table.cell(r, c).text = value
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def make_docx_bomb(
    text_chars: int, *, declared_size: int | None = None, padding_members: int = 0
) -> bytes:
    """A real .docx whose document.xml holds one paragraph of `text_chars` repeated letters.

    It deflates about a thousandfold. `declared_size` makes the zip directory lie about
    the inflated size of document.xml, as a bomb built to pass a directory check would;
    `padding_members` adds that many unreferenced 1,000,000-byte members of zeros.
    """
    body = (
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body><w:p><w:r><w:t>{'a' * text_chars}</w:t></w:r></w:p></w:body></w:document>"
    )
    source = zipfile.ZipFile(io.BytesIO(make_docx("x", [["a"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = body.encode() if info.filename == "word/document.xml" else source.read(info)
            target.writestr(info.filename, data)
        for n in range(padding_members):
            target.writestr(f"customXml/pad{n}.bin", bytes(1_000_000))
    return _lie_about_size(out.getvalue(), declared_size) if declared_size else out.getvalue()


def _lie_about_size(archive: bytes, size: int) -> bytes:
    """Rewrite document.xml's uncompressed size in its central directory entry."""
    name = b"word/document.xml"
    entry = archive.rindex(b"PK\x01\x02", 0, archive.rindex(name))
    patched = bytearray(archive)
    patched[entry + 24 : entry + 28] = size.to_bytes(4, "little")
    return bytes(patched)
