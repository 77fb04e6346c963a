"""The pieces of `ingest` and `search` that need no server: arguments, walking, planning."""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openai.types.vector_store_search_response import VectorStoreSearchResponse

from maia_vectordb.cli import _parser, serve
from maia_vectordb.cli.connect import CliError
from maia_vectordb.cli.ingest import parse_attribute, parse_options
from maia_vectordb.cli.ingest_plan import Attached, Pending, to_detach
from maia_vectordb.cli.search import snippet
from maia_vectordb.cli.walk import LocalFile, collect, path_key
from maia_vectordb.config import Settings


def _parse(args: list[str]) -> argparse.Namespace:
    return _parser(args).parse_args(args)


class TestAttributeValues:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("year=2024", ("year", 2024)),
            ("ratio=0.5", ("ratio", 0.5)),
            ("big=1e3", ("big", 1000.0)),
            ("neg=-3", ("neg", -3)),
            ("draft=false", ("draft", False)),
            ("live=True", ("live", True)),
            ("zip=01234", ("zip", "01234")),
            ("team=hr", ("team", "hr")),
            ("note=a=b", ("note", "a=b")),
            ("empty=", ("empty", "")),
            ("nan=nan", ("nan", "nan")),
        ],
    )
    def test_typed_like_json(self, text: str, expected: tuple[str, object]) -> None:
        assert parse_attribute(text) == expected
        assert type(parse_attribute(text)[1]) is type(expected[1])

    @pytest.mark.parametrize("text", ["novalue", "=x", "long=" + "x" * 513])
    def test_rejects(self, text: str) -> None:
        with pytest.raises(argparse.ArgumentTypeError):
            parse_attribute(text)


class TestUsageErrors:
    """Told before any server is started, with exit code 2 like argparse's own errors."""

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--attr", "sha256=x"], "--attr sha256 is set by ingest itself"),
            (["--chunk-size", "50"], "--chunk-size must be between 100 and 4096 tokens"),
            (["--chunk-size", "200", "--chunk-overlap", "101"], "--chunk-overlap must be"),
            (["--chunk-overlap", "10"], "--chunk-overlap needs --chunk-size"),
            ([f"--attr=k{i}=v" for i in range(15)], "at most 14 --attr keys"),
        ],
    )
    def test_ingest_options(self, args: list[str], message: str) -> None:
        parsed = _parse(["ingest", "docs", "--store", "s", *args])
        with pytest.raises(CliError) as caught:
            parse_options(parsed)
        assert caught.value.exit_code == 2
        assert caught.value.message.startswith(message)

    @pytest.mark.parametrize(
        "args",
        [
            ["ingest", "docs"],
            ["ingest", "docs", "--store", "s", "--attr", "novalue"],
            ["ingest", "docs", "--store", "s", "--concurrency", "0"],
            ["search", "s", "q", "--filter", "{oops"],
            ["search", "s", "q", "--filter", "[1]"],
            ["search", "s", "q", "-k", "51"],
            ["search", "s", "q", "--mode", "fuzzy"],
        ],
    )
    def test_argument_errors(self, args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as caught:
            _parse(args)
        assert caught.value.code == 2
        assert "error:" in capsys.readouterr().err

    def test_static_chunks_default_to_half_overlap(self) -> None:
        parsed = _parse(["ingest", "d", "--store", "s", "--chunk-size", "300"])
        assert parse_options(parsed).chunking == {
            "type": "static",
            "static": {"max_chunk_size_tokens": 300, "chunk_overlap_tokens": 150},
        }


class TestWalk:
    @pytest.fixture
    def tree(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        monkeypatch.chdir(tmp_path)
        outside = tmp_path / "outside.txt"
        outside.write_text("not in the tree")
        root = tmp_path / "docs"
        (root / "sub").mkdir(parents=True)
        (root / ".cache").mkdir()
        (root / "a.txt").write_text("a")
        (root / "sub" / "b.md").write_text("b")
        (root / ".hidden").write_text("h")
        (root / ".cache" / "c.txt").write_text("c")
        (root / "inside-link.txt").symlink_to(root / "a.txt")
        (root / "outside-link.txt").symlink_to(outside)
        (root / "loop").symlink_to(root, target_is_directory=True)
        return root

    def test_recurses_and_leaves_out_hidden_and_outside_links(self, tree: Path) -> None:
        found = collect(["docs"])
        assert [f.key for f in found.files] == ["a.txt", "sub/b.md"]
        assert found.ignored == 4  # .cache, loop, .hidden, outside-link.txt

    def test_a_link_to_a_file_in_the_tree_counts_once(self, tree: Path) -> None:
        (tree / "a.txt").unlink()
        (tree / "real.txt").write_text("r")
        (tree / "inside-link.txt").unlink()
        (tree / "inside-link.txt").symlink_to(tree / "real.txt")
        assert [f.key for f in collect(["docs"]).files] == ["inside-link.txt", "sub/b.md"]

    def test_each_file_once_in_the_order_given(self, tree: Path) -> None:
        keys = [f.key for f in collect(["docs/sub/b.md", "docs", "./docs/a.txt"]).files]
        assert keys == ["sub/b.md", "a.txt"]

    def test_a_named_hidden_file_is_taken(self, tree: Path) -> None:
        assert [f.key for f in collect(["docs/.hidden"]).files] == [".hidden"]

    def test_exclude_by_name_path_or_folder(self, tree: Path) -> None:
        assert [f.key for f in collect(["docs"], ["*.md"]).files] == ["a.txt"]
        assert [f.key for f in collect(["docs"], ["sub/*"]).files] == ["a.txt"]
        found = collect(["docs"], ["sub", "*.txt"])
        assert (found.files, found.excluded) == ([], 3)  # sub, a.txt, inside-link.txt
        named = collect(["docs/a.txt", "docs/sub/b.md"], ["b.md"])
        assert [f.key for f in named.files] == ["a.txt"]

    def test_missing_path_is_a_usage_error(self, tree: Path) -> None:
        with pytest.raises(CliError) as caught:
            collect(["docs", "nope"])
        assert caught.value.exit_code == 2

    def test_keys_are_the_same_from_any_working_directory(self, tree: Path) -> None:
        here = [f.key for f in collect(["docs"]).files]
        os.chdir(tree / "sub")
        assert [f.key for f in collect([".."]).files] == here
        assert [f.key for f in collect([str(tree)]).files] == here

    def test_files_named_together_keep_their_folders_below_the_shared_one(self, tree: Path) -> None:
        assert [f.key for f in collect(["docs/a.txt", "docs/sub/b.md"]).files] == [
            "a.txt",
            "sub/b.md",
        ]
        assert path_key(tree / "sub" / "b.md", tree) == "sub/b.md"


class TestStaleAttachments:
    @pytest.fixture
    def pending(self, tmp_path: Path) -> Pending:
        stale = (Attached("file-old", "aaa", "completed"), Attached("file-bad", "bbb", "failed"))
        return Pending(LocalFile(tmp_path / "x.txt", "x.txt", 1), "ccc", stale)

    def test_all_detached_once_the_replacement_completed(self, pending: Pending) -> None:
        assert to_detach(pending, "completed") == ["file-old", "file-bad"]

    def test_a_failed_replacement_keeps_the_searchable_version(self, pending: Pending) -> None:
        assert to_detach(pending, "failed") == ["file-bad"]


class TestSnippet:
    def test_collapses_whitespace_and_truncates(self) -> None:
        hit = VectorStoreSearchResponse.model_validate(
            {
                "file_id": "file-1",
                "filename": "a.txt",
                "score": 0.5,
                "attributes": None,
                "content": [{"type": "text", "text": "one\n\n  two\t" + "x" * 200}],
            }
        )
        text = snippet(hit)
        assert text.startswith("one two xxx")
        assert len(text) == 120
        assert text.endswith("…")


class TestOptionsOverSettings:
    """`--port` and `--concurrency` stand for PORT and INGEST_WORKERS and obey their limits,
    told in one line before any database is started."""

    def test_out_of_range_port(self) -> None:
        with pytest.raises(SystemExit, match=r"(?m)^  PORT: .*65535"):
            serve.serve(Settings(_env_file=None), _parse(["serve", "--port", "70000"]))

    async def test_too_many_workers(self) -> None:
        with pytest.raises(SystemExit, match=r"(?m)^  INGEST_WORKERS: .*64"):
            await serve.worker(Settings(_env_file=None), _parse(["worker", "--concurrency", "65"]))


def heavy_modules_loaded(setup: str, heavy: set[str]) -> list[str]:
    """Which of `heavy` a fresh interpreter has imported after running `setup`."""
    probe = f"import sys\n{setup}\nprint(sorted(set({sorted(heavy)!r}) & set(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return list(ast.literal_eval(result.stdout.strip().splitlines()[-1]))


class TestLazyImports:
    @pytest.mark.parametrize("argv", [["--help"], ["keys", "--help"], ["serve", "--help"]])
    def test_help_loads_no_database_web_or_embedding_stack(self, argv: list[str]) -> None:
        setup = (
            "import contextlib\n"
            "from maia_vectordb.cli import _parser\n"
            f"with contextlib.suppress(SystemExit): _parser({argv!r}).parse_args({argv!r})"
        )
        heavy = {"sqlalchemy", "fastapi", "openai", "asyncpg", "alembic", "tiktoken"}
        assert heavy_modules_loaded(setup, heavy) == []

    def test_keys_and_migrate_load_no_web_or_embedding_stack(self) -> None:
        """What `keys list` and `migrate` import to reach the database (the runtime's
        database stage, the schema check, the keys service) leaves alembic (needed only
        when the schema is behind), the SDK and the web stack out."""
        setup = (
            "import maia_vectordb.cli.keys, maia_vectordb.cli.quiet, maia_vectordb.runtime\n"
            "import maia_vectordb.db.migrate, maia_vectordb.services.keys"
        )
        heavy = {
            "alembic",
            "fastapi",
            "openai",
            "tiktoken",
            "onnxruntime",
            "numpy",
            "prometheus_client",
        }
        assert heavy_modules_loaded(setup, heavy) == []

    def test_serving_without_an_openai_provider_leaves_the_sdk_out(self) -> None:
        setup = (
            "import maia_vectordb.app, maia_vectordb.runtime, maia_vectordb.cli.serve\n"
            "import maia_vectordb.embeddings.registry, maia_vectordb.ingest.pool"
        )
        assert heavy_modules_loaded(setup, {"openai"}) == []

    def test_the_embeddings_package_still_offers_every_name(self) -> None:
        import maia_vectordb.embeddings as embeddings

        assert all(getattr(embeddings, name) is not None for name in embeddings.__all__)
        with pytest.raises(AttributeError):
            _ = embeddings.NoSuchThing  # type: ignore[attr-defined]
