"""What every resolver of one request reads through `info.context`: the served revision,
its generated schema, locales and fallback chains, the link loader, and the making of
entry nodes and of the errors Contentful reports at a position."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mirror.delivery.content import Item
from mirror.delivery.engine import DeliveryEngine
from mirror.delivery.localize import MISSING, FieldDef, Schema, value_in
from mirror.delivery.revision import RevisionContent
from mirror.graphql.errors import unknown_locale
from mirror.graphql.loader import Batch, EntryNode, LinkLoader

if TYPE_CHECKING:
    from mirror.graphql.schema import ServedSchema


@dataclass
class Revision:
    """What one served commit offers every request: built once per commit."""

    content: RevisionContent
    served: ServedSchema
    schema: Schema  # the delivery engine's: content types and locales
    engine: DeliveryEngine
    asset_url: Callable[[Item, str, str], str | None]  # (asset, locale, host): its file's URL
    tag_names: dict[str, Any]  # tag id -> name, as tags.json has them


@dataclass
class RequestContext:
    revision: Revision
    host: str
    loader: LinkLoader = field(init=False)

    def __post_init__(self) -> None:
        self.loader = LinkLoader(self.revision.content)
        self.locales = self.revision.schema.locales
        self.default_locale = self.locales.default
        self._chains: dict[tuple[bool, str, bool], tuple[str, ...]] = {}
        self.memo: dict[Any, Any] = {}  # what resolvers compile once per request

    def close(self) -> None:
        """Let go of what the request read, once its answer is made: whatever still
        refers to the context (graphql-core's executor, in reference cycles that wait
        for the garbage collector) then holds no items."""
        self.memo.clear()
        self.loader = LinkLoader(self.revision.content)

    # -- locales -----------------------------------------------------------------------

    def locale(self, inherited: str, argument: str | None) -> str:
        """The locale in effect: the argument if given (UNKNOWN_LOCALE if the space has
        no such locale), else the one inherited from above."""
        if argument is None:
            return inherited
        if argument not in self.locales.codes:
            raise unknown_locale(argument)
        return argument

    def chain(self, definition: FieldDef | None, code: str, fallback: bool) -> tuple[str, ...]:
        """Where a field's value is read: a localized field along the locale's fallback
        chain (only the locale itself without fallback), others in the default locale."""
        localized = definition is None or definition.localized
        key = (localized, code, fallback)
        found = self._chains.get(key)
        if found is None:
            if not localized:
                found = (self.default_locale,)
            else:
                found = self.locales.chain(code) if fallback else (code,)
            self._chains[key] = found
        return found

    def value(self, node: EntryNode, definition: FieldDef | None, name: str, code: str) -> Any:
        """A stored field of a node in a locale, or None."""
        raw = (node.item.get("fields") or {}).get(name)
        found = value_in(raw, self.chain(definition, code, node.fallback))
        return None if found is MISSING else found

    # -- nodes -------------------------------------------------------------------------

    def node(self, item: Item, code: str, fallback: bool, batch: Batch) -> EntryNode | None:
        """The node of a stored entry or asset; None for an entry of a content type the
        schema does not have."""
        if item["sys"]["type"] == "Asset":
            return EntryNode(item, "Asset", code, fallback, batch)
        plan = self.revision.served.model.type_of(item["sys"]["contentType"]["sys"]["id"])
        if plan is None:
            return None
        return EntryNode(item, plan.name, code, fallback, batch)

    def page_nodes(self, items: list[Item], code: str, fallback: bool = True) -> list[Any]:
        """The nodes of a page read together (one batch)."""
        batch = Batch(items)
        return [self.node(item, code, fallback, batch) for item in items]
