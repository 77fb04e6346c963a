"""OpenAIEmbeddings against a fake OpenAI over real HTTP: batching, decoding, errors, bounds."""

from __future__ import annotations

import array
import json
import socket
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from maia_vectordb.config import EmbeddingSettings
from maia_vectordb.embeddings import (
    HashEmbeddings,
    OpenAIEmbeddings,
    PermanentEmbeddingError,
    TransientEmbeddingError,
    build_registry,
)
from maia_vectordb.embeddings.openai import count_cl100k_tokens, plan_batches
from tests.embeddings.conftest import API_KEY, TEST_DIMENSIONS, MakeEmbedder
from tests.fakes.openai_server import FakeOpenAIServer, expected_vector


def texts(count: int) -> list[str]:
    return [f"text number {i}" for i in range(count)]


def lists(vectors: Sequence[Sequence[float]]) -> list[list[float]]:
    """Base64 vectors come back as float32 arrays; their values, to compare with lists."""
    return [list(vector) for vector in vectors]


class TestRequests:
    async def test_sends_model_dimensions_base64_and_key(
        self, embedder: OpenAIEmbeddings, fake_openai: FakeOpenAIServer
    ) -> None:
        await embedder.embed(["hello"])
        [request] = fake_openai.requests
        assert request.model == "text-embedding-3-small"
        assert request.dimensions == TEST_DIMENSIONS
        assert request.encoding_format == "base64"
        assert request.authorization == f"Bearer {API_KEY}"

    async def test_omits_dimensions_for_models_that_reject_them(
        self, make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer
    ) -> None:
        embedder = make_embedder(
            EMBEDDING_MODEL="text-embedding-ada-002", EMBEDDING_DIMENSIONS=1536
        )
        [vector] = await embedder.embed(["hello"])
        assert fake_openai.requests[0].dimensions is None
        assert list(vector) == expected_vector("hello", 1536)

    async def test_keyless_server_gets_a_placeholder_key(
        self, make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer
    ) -> None:
        await make_embedder(OPENAI_API_KEY=None).embed(["hello"])
        assert fake_openai.requests[0].authorization == "Bearer unused"

    async def test_empty_input_makes_no_request(
        self, embedder: OpenAIEmbeddings, fake_openai: FakeOpenAIServer
    ) -> None:
        assert await embedder.embed([]) == []
        assert fake_openai.requests == []


class TestBatching:
    async def test_splits_3000_inputs_into_two_requests(
        self, embedder: OpenAIEmbeddings, fake_openai: FakeOpenAIServer
    ) -> None:
        vectors = await embedder.embed(texts(3000))
        assert sorted(r.input_count for r in fake_openai.requests) == [952, 2048]
        assert len(vectors) == 3000

    async def test_splits_by_300k_tokens_per_request(
        self, embedder: OpenAIEmbeddings, fake_openai: FakeOpenAIServer
    ) -> None:
        long_inputs = [f"doc{i}" + " word" * 7999 for i in range(40)]  # 8000 tokens each
        await embedder.embed(long_inputs)
        counts = sorted(r.input_count for r in fake_openai.requests)
        assert counts == [3, 37]
        for request in fake_openai.requests:
            assert sum(map(count_cl100k_tokens, request.inputs)) <= 300_000

    async def test_uses_an_injected_token_counter(
        self, make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer
    ) -> None:
        embedder = make_embedder(count_tokens=lambda _text: 100_000)
        await embedder.embed(texts(5))
        assert sorted(r.input_count for r in fake_openai.requests) == [2, 3]

    def test_gives_an_oversized_input_its_own_request(self) -> None:
        assert plan_batches([10, 400_000, 10]) == [range(0, 1), range(1, 2), range(2, 3)]

    async def test_returns_vectors_in_input_order_when_batches_finish_out_of_order(
        self, make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.delay = slow_first_batch
        inputs = texts(10)
        embedder = make_embedder(count_tokens=lambda _text: 150_000, EMBEDDING_CONCURRENCY=8)
        vectors = await embedder.embed(inputs)
        assert len(fake_openai.requests) == 5
        assert lists(vectors) == [expected_vector(text, TEST_DIMENSIONS) for text in inputs]


def slow_first_batch(inputs: Sequence[str]) -> float:
    return 0.2 if inputs[0] == "text number 0" else 0.0


class TestDecoding:
    async def test_base64_and_float_responses_decode_to_the_same_vectors(
        self, embedder: OpenAIEmbeddings, fake_openai: FakeOpenAIServer
    ) -> None:
        from_base64 = await embedder.embed(["alpha", "beta"])
        fake_openai.force_encoding = "float"
        from_floats = await embedder.embed(["alpha", "beta"])
        assert (
            lists(from_base64)
            == lists(from_floats)
            == [expected_vector(t, TEST_DIMENSIONS) for t in ["alpha", "beta"]]
        )

    async def test_base64_vectors_stay_float32_arrays_for_the_chunk_copy(
        self, embedder: OpenAIEmbeddings
    ) -> None:
        [vector] = await embedder.embed(["alpha"])
        assert isinstance(vector, array.array)
        assert vector.typecode == "f"

    async def test_wrong_dimension_is_permanent_and_says_why(
        self, make_embedder: MakeEmbedder
    ) -> None:
        embedder = make_embedder(EMBEDDING_MODEL="text-embedding-ada-002", EMBEDDING_DIMENSIONS=64)
        with pytest.raises(PermanentEmbeddingError) as caught:
            await embedder.embed(["hello"])
        assert str(caught.value) == (
            "model text-embedding-ada-002 returned 1536 dimensions but EMBEDDING_DIMENSIONS is 64"
        )


class TestErrors:
    async def test_retries_a_429_then_succeeds(
        self, embedder: OpenAIEmbeddings, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.fail_next(429)
        assert lists(await embedder.embed(["hello"])) == [expected_vector("hello", TEST_DIMENSIONS)]
        assert len(fake_openai.requests) == 2

    async def test_persistent_500_is_transient_after_the_retries(
        self, embedder: OpenAIEmbeddings, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.fail_always(500)
        with pytest.raises(TransientEmbeddingError) as caught:
            await embedder.embed(["hello"])
        assert caught.value.status_code == 500
        assert len(fake_openai.requests) == 3  # EMBEDDING_MAX_RETRIES=2

    async def test_401_is_permanent_and_never_shows_the_key(
        self, embedder: OpenAIEmbeddings, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.fail_always(401)
        with pytest.raises(PermanentEmbeddingError) as caught:
            await embedder.embed(["hello"])
        assert caught.value.status_code == 401
        assert "HTTP 401" in str(caught.value)
        assert API_KEY not in str(caught.value)
        assert len(fake_openai.requests) == 1

    async def test_a_keyless_servers_reason_is_not_redacted(
        self, make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.fail_always(400, message="field 'user' is unused by this server")
        with pytest.raises(PermanentEmbeddingError, match="'user' is unused by this server"):
            await make_embedder(OPENAI_API_KEY=None).embed(["hello"])

    async def test_400_is_permanent_with_the_servers_reason(
        self, embedder: OpenAIEmbeddings, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.fail_always(400, message="This model's maximum context length is 8192 tokens")
        with pytest.raises(PermanentEmbeddingError, match="maximum context length is 8192"):
            await embedder.embed(["hello"])

    async def test_timeout_is_transient(
        self, make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.delay = 0.3
        embedder = make_embedder(EMBEDDING_TIMEOUT=0.05, EMBEDDING_MAX_RETRIES=0)
        with pytest.raises(TransientEmbeddingError, match="timed out"):
            await embedder.embed(["hello"])

    async def test_unreachable_server_is_transient(self, make_embedder: MakeEmbedder) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        embedder = make_embedder(
            EMBEDDING_BASE_URL=f"http://127.0.0.1:{port}/v1", EMBEDDING_MAX_RETRIES=0
        )
        with pytest.raises(TransientEmbeddingError, match="could not connect"):
            await embedder.embed(["hello"])


class TestRetries:
    """The openai SDK's rules (`retry_policy`), over real HTTP."""

    @pytest.mark.parametrize("status", [408, 409, 502])
    async def test_retries_then_succeeds(
        self, status: int, embedder: OpenAIEmbeddings, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.fail_next(status, times=2)
        assert lists(await embedder.embed(["hello"])) == [expected_vector("hello", TEST_DIMENSIONS)]
        assert len(fake_openai.requests) == 3

    @pytest.mark.parametrize(
        ("status", "fault"),
        [
            (503, {"headers": {"x-should-retry": "false"}}),  # the server forbids a retry
            (429, {"retry_after": "600"}),  # a wait over two minutes is not waited for
        ],
    )
    async def test_gives_up_at_once_when_told(
        self,
        status: int,
        fault: dict[str, Any],
        embedder: OpenAIEmbeddings,
        fake_openai: FakeOpenAIServer,
    ) -> None:
        fake_openai.fail_always(status, **fault)
        with pytest.raises(TransientEmbeddingError) as caught:
            await embedder.embed(["hello"])
        assert caught.value.status_code == status
        assert len(fake_openai.requests) == 1

    async def test_the_server_can_ask_for_a_retry(
        self, embedder: OpenAIEmbeddings, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.fail_next(400, headers={"x-should-retry": "true"})
        assert lists(await embedder.embed(["hello"])) == [expected_vector("hello", TEST_DIMENSIONS)]
        assert len(fake_openai.requests) == 2

    async def test_a_timed_out_attempt_is_retried(
        self, make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.delay = 0.3
        embedder = make_embedder(EMBEDDING_TIMEOUT=0.05, EMBEDDING_MAX_RETRIES=1)
        with pytest.raises(TransientEmbeddingError, match="timed out"):
            await embedder.embed(["hello"])
        assert len(fake_openai.requests) == 2

    async def test_the_message_names_the_model_the_status_and_the_reason(
        self, embedder: OpenAIEmbeddings, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.fail_always(404, message="The model `nope` does not exist")
        with pytest.raises(PermanentEmbeddingError) as caught:
            await embedder.embed(["hello"])
        assert str(caught.value) == (
            "embedding request for model text-embedding-3-small failed with HTTP 404: "
            "The model `nope` does not exist"
        )


class TestBrokenResponses:
    @pytest.mark.parametrize(
        "body",
        [
            "<html>gateway</html>",
            "[]",
            '{"object": "list"}',
            '{"data": [{"embedding": "AAAA"}]}',
        ],
    )
    async def test_an_unusable_200_is_permanent(
        self, body: str, embedder: OpenAIEmbeddings, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.force_body = body
        with pytest.raises(PermanentEmbeddingError, match="unusable response"):
            await embedder.embed(["hello"])
        assert len(fake_openai.requests) == 1

    async def test_too_few_embeddings_is_permanent(
        self, embedder: OpenAIEmbeddings, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.force_body = '{"data": [{"index": 0, "embedding": [0.5]}]}'
        with pytest.raises(PermanentEmbeddingError, match="returned 1 embeddings for 2 inputs"):
            await embedder.embed(["alpha", "beta"])

    async def test_items_are_put_back_in_index_order(
        self, embedder: OpenAIEmbeddings, fake_openai: FakeOpenAIServer
    ) -> None:
        items = [{"index": 1, "embedding": [2.0] * 8}, {"index": 0, "embedding": [1.0] * 8}]
        fake_openai.force_body = json.dumps({"data": items})
        assert await embedder.embed(["alpha", "beta"]) == [[1.0] * 8, [2.0] * 8]


class TestConcurrency:
    async def test_in_flight_requests_never_exceed_embedding_concurrency(
        self, make_embedder: MakeEmbedder, fake_openai: FakeOpenAIServer
    ) -> None:
        fake_openai.delay = 0.05
        embedder = make_embedder(count_tokens=lambda _text: 300_000, EMBEDDING_CONCURRENCY=2)
        await embedder.embed(texts(8))
        assert len(fake_openai.requests) == 8
        assert fake_openai.max_in_flight == 2


class TestBuildEmbedder:
    async def test_uses_openai_when_a_key_is_configured(
        self, make_settings: Callable[..., EmbeddingSettings]
    ) -> None:
        registry = build_registry(make_settings(), cache_size=8)
        assert isinstance(registry.default_embedder, OpenAIEmbeddings)
        await registry.aclose()

    async def test_hash_when_configured(
        self, make_settings: Callable[..., EmbeddingSettings]
    ) -> None:
        hashing = make_settings(OPENAI_API_KEY=None, EMBEDDING_PROVIDER="hash")
        registry = build_registry(hashing, cache_size=8)
        embedder = registry.default_embedder
        assert isinstance(embedder, HashEmbeddings)
        assert (embedder.model, embedder.dimensions) == ("hash", TEST_DIMENSIONS)
        await registry.aclose()
