"""The GraphQLSchema Contentful would generate from a content model, as served: built
programmatically (builder.py) from the `ContentModel`, which also checks the names
Contentful refuses; `SchemaCache` keeps the schemas of the models served lately, so a
new commit with the same model costs nothing."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from graphql import GraphQLSchema

from mirror.delivery.content import Item
from mirror.graphql.builder import Builder
from mirror.graphql.inputs import Term
from mirror.graphql.model import ContentModel
from mirror.wire import compact_json

CACHED_SCHEMAS = 8


@dataclass
class ServedSchema:
    """A generated schema and what its resolvers need to know of it."""

    schema: GraphQLSchema
    model: ContentModel
    terms: dict[str, dict[str, Term]]


def build_schema(space_id: str, content_types: Iterable[Item]) -> ServedSchema:
    """The schema of a content model; raises SchemaGenerationError where Contentful would."""
    model = ContentModel.build(space_id, content_types)
    builder = Builder(model)
    return ServedSchema(builder.schema(), model, builder.inputs.terms)


class SchemaCache:
    """Schemas by content model: a new commit with the same model reuses its schema."""

    def __init__(self, size: int = CACHED_SCHEMAS) -> None:
        self.size = size
        self._schemas: OrderedDict[str, ServedSchema] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, space_id: str, content_types: list[Item]) -> ServedSchema:
        key = hashlib.sha256(compact_json([space_id, content_types])).hexdigest()
        with self._lock:
            if key in self._schemas:
                self._schemas.move_to_end(key)
                return self._schemas[key]
        served = build_schema(space_id, content_types)
        with self._lock:
            self._schemas[key] = served
            while len(self._schemas) > self.size:
                self._schemas.popitem(last=False)
        return served
