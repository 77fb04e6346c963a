"""Which models this configuration offers, decided without building any embedder.

Apart from `registry` so that `migrate` and `keys` (which need the offered widths to
keep one vector index per width) never import the openai SDK or onnxruntime.
"""

from __future__ import annotations

from maia_vectordb.config import EmbeddingSettings
from maia_vectordb.embeddings.hash import HASH_MODEL
from maia_vectordb.embeddings.local import LOCAL_DIMENSIONS
from maia_vectordb.embeddings.model_files import MODEL_NAME, has_files
from maia_vectordb.embeddings.spec import ModelSpec


def local_files_present(settings: EmbeddingSettings) -> bool:
    directory = settings.model_path or settings.model_cache_dir
    return has_files(directory)


def offered_providers(settings: EmbeddingSettings) -> list[str]:
    """The default first, then the others this configuration can run."""
    providers = [settings.resolved_provider]
    if settings.openai_configured:
        providers.append("openai")
    if local_files_present(settings):
        providers.append("local")
    return list(dict.fromkeys(providers))


def spec_for(provider: str, settings: EmbeddingSettings) -> ModelSpec:
    """The model a provider runs under these settings, without building it."""
    if provider == "openai":
        return ModelSpec("openai", settings.model, settings.dimensions)
    if provider == "local":
        return ModelSpec("local", MODEL_NAME, LOCAL_DIMENSIONS)
    return ModelSpec("hash", HASH_MODEL, settings.dimensions)


def offered_specs(settings: EmbeddingSettings) -> list[ModelSpec]:
    return [spec_for(provider, settings) for provider in offered_providers(settings)]
