"""What a vector store records about the model that embeds it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    """The provider, the model's name and its vector width: together, one embedding space."""

    provider: str
    model: str
    dimensions: int

    def describe(self) -> str:
        return f"{self.model} ({self.provider}, {self.dimensions} dimensions)"
