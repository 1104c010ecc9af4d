"""The JSON Schemas in schemas/, loaded once and compiled into validators."""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema
from referencing import Registry, Resource

from mirror.resources import schemas_dir

SCHEMA_NAMES = (
    "defs",
    "link",
    "entry",
    "asset",
    "deleted_entry",
    "deleted_asset",
    "sync_item",
    "sync_page",
    "content_type",
    "content_type_collection",
    "locale",
    "locale_collection",
    "error",
)


class Schemas:
    """Validators for every schema, each built once (building one per item is slow)."""

    def __init__(self) -> None:
        documents: dict[str, dict[str, Any]] = {}
        for name in SCHEMA_NAMES:
            path = schemas_dir() / f"{name}.json"
            documents[name] = json.loads(path.read_text(encoding="utf-8"))
        registry: Registry[Any] = Registry().with_resources(
            (doc["$id"], Resource.from_contents(doc)) for doc in documents.values()
        )
        self._validators = {
            name: jsonschema.Draft202012Validator(doc, registry=registry)
            for name, doc in documents.items()
        }

    def errors(self, name: str, value: Any) -> list[str]:
        """Every way `value` breaks schema `name`, as short readable lines."""
        found = sorted(self._validators[name].iter_errors(value), key=_error_path)
        return [_describe(error) for error in found]

    def first_error(self, name: str, value: Any) -> str | None:
        error = jsonschema.exceptions.best_match(self._validators[name].iter_errors(value))
        return None if error is None else _describe(error)

    def is_valid(self, name: str, value: Any) -> bool:
        return bool(self._validators[name].is_valid(value))


def _error_path(error: jsonschema.ValidationError) -> str:
    return "/".join(str(part) for part in error.absolute_path)


def _describe(error: jsonschema.ValidationError) -> str:
    where = _error_path(error) or "(top)"
    message = error.message
    if len(message) > 200:
        message = message[:197] + "..."
    return f"{where}: {message}"


@functools.cache
def schemas() -> Schemas:
    return Schemas()
