"""parse(): uploaded bytes become plain text, or a clear reason why they cannot."""

from __future__ import annotations

import pytest

from maia_vectordb.ingest.parsers import InvalidFile, ParseLimits, UnsupportedFile, parse
from tests.fakes.documents import (
    encrypt,
    make_docx,
    make_docx_bomb,
    make_pdf,
    make_pdf_shared_tree,
    make_pptx,
)

MIB = 1024 * 1024


class TestFileType:
    def test_rejects_unknown_extension(self) -> None:
        with pytest.raises(UnsupportedFile, match=r"extension \.xyz are not supported"):
            parse("data.xyz", b"hello")

    def test_rejects_file_without_extension(self) -> None:
        with pytest.raises(UnsupportedFile, match="no extension"):
            parse("Makefile", b"all:")

    def test_rejects_csv_which_openai_does_not_list(self) -> None:
        with pytest.raises(UnsupportedFile):
            parse("table.csv", b"a,b\n1,2\n")

    def test_extension_is_case_insensitive(self) -> None:
        assert parse("NOTES.TXT", b"hello") == "hello"

    @pytest.mark.parametrize("name", ["main.py", "lib.rs", "query.sql", "conf.yaml", "x.m"])
    def test_reads_source_code_as_text(self, name: str) -> None:
        assert parse(name, b"x = 1\n") == "x = 1\n"


class TestText:
    def test_reads_utf8(self) -> None:
        assert parse("a.md", "# Café 日本 😀".encode()) == "# Café 日本 😀"

    def test_strips_utf8_bom(self) -> None:
        assert parse("a.txt", b"\xef\xbb\xbfhello") == "hello"

    @pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
    def test_reads_utf16_with_bom(self, codec: str) -> None:
        bom = b"\xff\xfe" if codec == "utf-16-le" else b"\xfe\xff"
        assert parse("a.txt", bom + "Grüße, 世界".encode(codec)) == "Grüße, 世界"

    @pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
    def test_reads_utf16_without_bom(self, codec: str) -> None:
        assert parse("a.txt", "plain text, ünïcode".encode(codec)) == "plain text, ünïcode"

    def test_rejects_bytes_that_are_not_utf8_or_utf16(self) -> None:
        with pytest.raises(InvalidFile, match="not valid UTF-8 or UTF-16"):
            parse("a.txt", "café au lait".encode("latin-1"))

    def test_rejects_empty_file(self) -> None:
        with pytest.raises(InvalidFile, match="The file is empty"):
            parse("a.txt", b"")

    def test_rejects_whitespace_only_file(self) -> None:
        with pytest.raises(InvalidFile, match="no extractable text"):
            parse("a.txt", b" \n\t\r\n ")

    def test_removes_nul_characters(self) -> None:
        assert parse("a.txt", b"a\x00b\x00c") == "abc"

    def test_normalises_crlf_line_ends(self) -> None:
        assert parse("a.txt", b"one\r\ntwo\r\n") == "one\ntwo\n"

    def test_text_over_the_limit_is_invalid(self) -> None:
        with pytest.raises(InvalidFile, match="exceeds the limit of 1000 characters"):
            parse("a.md", b"x" * 1001, ParseLimits(max_text_chars=1000))


class TestJson:
    def test_keeps_the_original_text(self) -> None:
        data = b'{\n  "name": "maia",\n  "tags": [1, 2]\n}'
        assert parse("a.json", data) == data.decode()

    def test_rejects_invalid_json(self) -> None:
        with pytest.raises(InvalidFile, match="not valid JSON"):
            parse("a.json", b'{"name": ')

    def test_rejects_deeply_nested_json_as_invalid(self) -> None:
        with pytest.raises(InvalidFile, match="nested too deeply"):
            parse("a.json", b"[" * 100_000 + b"]" * 100_000)


class TestHtml:
    def test_drops_scripts_styles_and_head(self) -> None:
        page = (
            b"<html><head><title>Title</title><style>p {color: red}</style></head>"
            b"<body><script>alert('x')</script><noscript>enable js</noscript>"
            b"<template><p>later</p></template><p>Visible</p></body></html>"
        )
        assert parse("a.html", page) == "Visible"

    def test_puts_block_elements_on_their_own_lines(self) -> None:
        page = b"<div><h1>Title</h1><p>Hello <b>bold</b> world</p><ul><li>one</li><li>two</li></ul>"
        assert parse("a.htm", page) == "Title\nHello bold world\none\ntwo"

    def test_separates_table_cells(self) -> None:
        page = b"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>"
        assert parse("a.html", page) == "a b\nc d"

    def test_text_that_looks_like_a_file_name_is_read_without_warning(self) -> None:
        assert parse("a.html", b"index.html") == "index.html"

    def test_xml_declaration_is_read_without_warning(self) -> None:
        assert parse("a.html", b'<?xml version="1.0"?><svg><text>Hi</text></svg>') == "Hi"

    def test_decodes_entities_and_skips_comments(self) -> None:
        page = b"<p>Fish &amp; chips &#8364;5<!-- price --></p>"
        assert parse("a.html", page) == "Fish & chips \u20ac5"

    def test_big_table_keeps_one_line_per_row(self) -> None:
        rows = "".join(f"<tr><td>r{i}</td><td>{i}</td></tr>" for i in range(20_000))
        text = parse("a.html", f"<table>{rows}</table>".encode())
        lines = text.split("\n")
        assert len(lines) == 20_000
        assert lines[-1] == "r19999 19999"

    def test_deep_nesting_reads_every_level(self) -> None:
        depth = 50_000
        text = parse("a.html", b"<div>x" * depth + b"</div>" * depth)
        assert text.split("\n") == ["x"] * depth

    def test_unclosed_tags_are_read_in_linear_time(self) -> None:
        """Python 3.11's html.parser rescans the rest of the input for each of these."""
        assert parse("a.html", b"<p>start</p>" + b"<a x" * 50_000) == "start"

    def test_text_over_the_limit_is_invalid(self) -> None:
        with pytest.raises(InvalidFile, match="exceeds the limit of 1000 characters"):
            parse("a.html", b"<p>" + b"word " * 300, ParseLimits(max_text_chars=1000))

    def test_parse_past_the_deadline_is_invalid(self) -> None:
        with pytest.raises(InvalidFile, match="time limit"):
            parse("a.html", b"<p>x</p>" * 10_000, ParseLimits(timeout_seconds=0))


class TestPdf:
    def test_reads_text_of_every_page(self) -> None:
        text = parse("a.pdf", make_pdf("Hello first page", "Goodbye second page"))
        assert text.split("\n\n") == ["Hello first page", "Goodbye second page"]

    def test_rejects_pdf_protected_by_a_password(self) -> None:
        pdf = encrypt(make_pdf("secret words"), user_password="secret")
        with pytest.raises(InvalidFile, match="protected by a password"):
            parse("a.pdf", pdf)

    def test_reads_pdf_encrypted_without_a_user_password(self) -> None:
        pdf = encrypt(make_pdf("open words"), user_password="")
        assert parse("a.pdf", pdf) == "open words"

    @pytest.mark.parametrize("data", [b"not a pdf at all", make_pdf("cut off")[:60]])
    def test_rejects_corrupt_pdf(self, data: bytes) -> None:
        with pytest.raises(InvalidFile, match="The PDF could not be read"):
            parse("a.pdf", data)

    def test_rejects_pdf_without_text(self) -> None:
        with pytest.raises(InvalidFile, match="no extractable text"):
            parse("a.pdf", make_pdf(""))

    def test_rejects_page_tree_with_shared_nodes(self) -> None:
        """1.6 KB claiming 8,192 pages: refused before pypdf flattens the tree."""
        with pytest.raises(InvalidFile, match="page tree shares or repeats nodes"):
            parse("a.pdf", make_pdf_shared_tree(13))

    def test_rejects_more_pages_than_the_limit(self) -> None:
        with pytest.raises(InvalidFile, match="more than the limit of 2 pages"):
            parse("a.pdf", make_pdf("one", "two", "three"), ParseLimits(max_pdf_pages=2))

    def test_text_over_the_limit_is_invalid(self) -> None:
        pdf = make_pdf("a long enough line of text", "and another one")
        with pytest.raises(InvalidFile, match="exceeds the limit of 30 characters"):
            parse("a.pdf", pdf, ParseLimits(max_text_chars=30))


class TestDocx:
    def test_reads_paragraphs_and_table_cells(self) -> None:
        data = make_docx("Quarterly report", [["Region", "Sales"], ["North", "42"]])
        assert parse("a.docx", data) == "Quarterly report\nRegion\tSales\nNorth\t42"

    def test_rejects_corrupt_docx(self) -> None:
        with pytest.raises(InvalidFile, match="The Word document could not be read"):
            parse("a.docx", b"PK\x03\x04 not really a zip")

    def test_refuses_a_compression_bomb_from_its_directory(self) -> None:
        with pytest.raises(InvalidFile, match="compression ratio limit of 100:1"):
            parse("a.docx", make_docx_bomb(5 * MIB))

    def test_refuses_many_small_members_that_add_up_to_a_bomb(self) -> None:
        with pytest.raises(InvalidFile, match=r"\(all members\) exceeds the compression ratio"):
            parse("a.docx", make_docx_bomb(1000, padding_members=8))

    def test_refuses_an_archive_inflating_past_the_limit(self) -> None:
        limits = ParseLimits(max_inflated_bytes=MIB, max_compression_ratio=1e9)
        with pytest.raises(InvalidFile, match=f"inflates to more than the limit of {MIB} bytes"):
            parse("a.docx", make_docx_bomb(2 * MIB), limits)

    def test_a_directory_that_understates_sizes_is_caught_while_reading(self) -> None:
        with pytest.raises(InvalidFile, match="Bad CRC"):
            parse("a.docx", make_docx_bomb(5 * MIB, declared_size=1000))

    def test_text_over_the_limit_is_invalid(self) -> None:
        limits = ParseLimits(max_text_chars=100_000)
        with pytest.raises(InvalidFile, match="exceeds the limit of 100000 characters"):
            parse("a.docx", make_docx_bomb(200_000), limits)

    def test_a_well_compressed_document_under_the_limits_is_read(self) -> None:
        assert parse("a.docx", make_docx_bomb(500_000)) == "a" * 500_000


class TestPptx:
    def test_reads_text_boxes_and_tables_slide_by_slide(self) -> None:
        data = make_pptx(["Welcome", "Results"], [["Q1", "Q2"], ["10", "20"]])
        assert parse("a.pptx", data) == "Welcome\n\nResults\nQ1\tQ2\n10\t20"

    def test_text_over_the_limit_is_invalid(self) -> None:
        data = make_pptx(["Welcome", "Results"], [["Q1", "Q2"], ["10", "20"]])
        with pytest.raises(InvalidFile, match="exceeds the limit of 10 characters"):
            parse("a.pptx", data, ParseLimits(max_text_chars=10))

    def test_rejects_corrupt_pptx(self) -> None:
        with pytest.raises(InvalidFile, match="The PowerPoint presentation could not be read"):
            parse("a.pptx", b"definitely not a presentation")
