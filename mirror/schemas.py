"""The JSON Schemas in schemas/, loaded once and compiled into validators.

Two validators read the same files: fastjsonschema (compiled to Python code) on the
hot path, because it is about 20x faster, and jsonschema, the reference, to explain
what is wrong once something fails. A test proves the two agree.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

import fastjsonschema

from mirror.resources import schemas_dir

if TYPE_CHECKING:
    import jsonschema

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
        self._documents = documents
        self._by_uri = {doc["$id"]: doc for doc in documents.values()}
        self._fast: dict[str, Any] = {}
        self._reference: dict[str, jsonschema.Draft202012Validator] = {}

    def errors(self, name: str, value: Any) -> list[str]:
        """Every way `value` breaks schema `name`, as short readable lines."""
        found = sorted(self._explainer(name).iter_errors(value), key=_error_path)
        return [_describe(error) for error in found]

    def first_error(self, name: str, value: Any) -> str | None:
        """None when `value` is valid, else the most telling error."""
        if self.is_valid(name, value):
            return None
        import jsonschema

        error = jsonschema.exceptions.best_match(self._explainer(name).iter_errors(value))
        return "invalid" if error is None else _describe(error)

    def is_valid(self, name: str, value: Any) -> bool:
        try:
            self._compiled(name)(value)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    def _explainer(self, name: str) -> jsonschema.Draft202012Validator:
        """jsonschema, built only when something must be explained (it is slow to build)."""
        if not self._reference:
            import jsonschema
            from referencing import Registry, Resource

            registry: Registry[Any] = Registry().with_resources(
                (uri, Resource.from_contents(doc)) for uri, doc in self._by_uri.items()
            )
            self._reference = {
                key: jsonschema.Draft202012Validator(doc, registry=registry)
                for key, doc in self._documents.items()
            }
        return self._reference[name]

    def _compiled(self, name: str) -> Any:
        if name not in self._fast:
            handlers = {"https": self._by_uri.__getitem__}
            self._fast[name] = fastjsonschema.compile(self._documents[name], handlers=handlers)
        return self._fast[name]


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
