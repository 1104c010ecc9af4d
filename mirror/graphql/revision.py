"""What the GraphQL API of one served commit is built from, once: the schema of its
content model (shared with other commits of the same model through `SCHEMAS`), the
delivery engine's locales and content types, tag names and asset URLs. A model that
cannot become a schema is remembered too: every request then gets its 422."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from mirror.delivery.content import Item
from mirror.delivery.engine import DeliveryEngine
from mirror.delivery.localize import Locales, Schema
from mirror.delivery.lru import Lru
from mirror.delivery.revision import RevisionContent
from mirror.graphql.assets import served_url
from mirror.graphql.context import Revision
from mirror.graphql.errors import SchemaGenerationError
from mirror.graphql.schema import SchemaCache

SCHEMAS = SchemaCache()
URLS = 20_000  # asset file URLs kept per commit


class RevisionSource:
    """The `Revision` of one commit, made on first use."""

    def __init__(self, content: RevisionContent, files: Any, schemas: SchemaCache = SCHEMAS):
        self.content = content
        self.files = files  # LocalFiles: how the REST server words asset URLs
        self.schemas = schemas
        self._revision: Revision | None = None
        self._refusal: SchemaGenerationError | None = None
        self._lock = threading.Lock()

    def revision(self) -> Revision:
        with self._lock:
            if self._refusal is not None:
                raise self._refusal
            if self._revision is None:
                try:
                    self._revision = self._build()
                except SchemaGenerationError as refusal:
                    self._refusal = refusal
                    raise
            return self._revision

    def _build(self) -> Revision:
        content = self.content
        content_types = content.content_types()
        served = self.schemas.get(content.space_id, content_types)
        schema = Schema({ct["sys"]["id"]: ct for ct in content_types}, Locales(content.locales()))
        tag_names = {tag["sys"]["id"]: tag.get("name") for tag in content.tags() if "sys" in tag}
        return Revision(
            content=content,
            served=served,
            schema=schema,
            engine=DeliveryEngine(content),
            asset_url=_AssetUrls(functools.partial(served_url, self.files, schema)),
            tag_names=tag_names,
        )


class _AssetUrls:
    """Asset file URLs by (asset, locale, host), kept: a commit's never change, and
    making one localizes the whole asset."""

    def __init__(self, make: Callable[[Item, str, str], str | None]) -> None:
        self.make = make
        self._made: Lru[tuple[str | None]] = Lru(URLS)

    def __call__(self, asset: Item, code: str, host: str) -> str | None:
        key = (asset["sys"]["id"], code, host)
        found = self._made.get(key)
        if found is None:
            found = (self.make(asset, code, host),)
            self._made.put(key, found)
        return found[0]
