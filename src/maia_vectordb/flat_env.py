"""Flat environment variable names in, nested settings groups out.

pydantic-settings reads a variable into a top-level field of the same name, or
into a nested one only through a delimiter (`DATABASE__URL`). The service's
variables are a public contract and stay flat, so each group field carries its
variable as alias: a source hands over the variables under their own names and
`fold` files each one into its group.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource


def variables(settings_cls: type[BaseModel]) -> Iterator[tuple[str, str]]:
    """(group, variable) for every field of every group; a variable may feed two groups."""
    for group, info in settings_cls.model_fields.items():
        for field in _group_model(info).model_fields.values():
            if field.alias is not None:
                yield group, field.alias


def fold(settings_cls: type[BaseModel], data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Flat variable names (any case) into their groups, keyed by name so an error names
    the variable; a variable wins over a group given whole; anything else is ignored."""
    flat = {str(key).upper(): value for key, value in data.items()}
    folded: dict[str, dict[str, Any]] = {}
    for group in settings_cls.model_fields:
        given = data.get(group, {})
        given = given.model_dump(by_alias=True) if isinstance(given, BaseModel) else given
        folded[group] = dict(given)
    for group, alias in variables(settings_cls):
        if alias in flat:
            folded[group][alias] = flat[alias]
    return folded


def _group_model(info: FieldInfo) -> type[BaseModel]:
    model = info.annotation
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"a settings group must be a model, not {model!r}")
    return model


class FlatNamesSource(PydanticBaseSettingsSource):
    """The variables a settings class reads, under their own names, from the environment
    or `.env` as pydantic-settings loaded it (so `_env_file=None` still skips `.env`)."""

    def __init__(self, settings_cls: type[BaseSettings], loaded: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self._vars = loaded.env_vars if isinstance(loaded, EnvSettingsSource) else {}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        names = {alias for _group, alias in variables(self.settings_cls)}
        found = {key.upper(): value for key, value in self._vars.items() if value is not None}
        return {name: value for name, value in found.items() if name in names}
