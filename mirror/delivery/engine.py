"""The Content Delivery API over one revision of a space: `DeliveryEngine.answer`
takes a resource path and decoded query pairs and returns the status and JSON body
Contentful would send. No HTTP here; the emulator and `mirror serve` wrap it.

Evaluation order keeps large spaces cheap: candidates come from id lookups or the
content's optional index (`find_entries`), conditions run on stored items, and only
the returned page and its includes are localized."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from mirror.delivery.answers import (
    CONTENT_TYPE_REQUIRED_MESSAGE,
    MAX_RESPONSE_BYTES,
    Answer,
    DeliveryError,
    bad_request,
    collection,
    not_found,
    too_big_message,
    unknown_content_type,
)
from mirror.delivery.content import Content, Item
from mirror.delivery.filters import Predicate, compile_filter
from mirror.delivery.includes import resolve
from mirror.delivery.localize import ALL_LOCALES, Locales, Schema, localize, select
from mirror.delivery.order import DEFAULT_ORDER, sort_page, sort_passes
from mirror.delivery.paths import Reader
from mirror.delivery.query import (
    ASSET_PARAMETERS,
    ENTRY_PARAMETERS,
    TYPE_PARAMETERS,
    OrderKey,
    Query,
    parse,
)
from mirror.wire import compact_json

__all__ = ["Answer", "DeliveryEngine"]

_ITEM_ROOTS = frozenset({"sys", "fields", "metadata"})
_TYPE_ROOTS = frozenset({"sys", "name"})
_LOCALES_LIMIT = 1000


class DeliveryEngine:
    """Answers Delivery API read requests from a `Content`."""

    def __init__(self, content: Content) -> None:
        self.content = content

    def answer(self, resource: str, query: list[tuple[str, str]]) -> Answer:
        """`resource` is the path after /spaces/{s}/environments/{e} (or after /spaces/{s}
        for the legacy form), e.g. "/entries", "/entries/nyancat", "/assets/x",
        "/content_types", "/locales", "/tags/x", or "" for the environment itself;
        `query` the decoded query pairs in order (access_token removed)."""
        try:
            return Answer(200, self._route(resource.strip("/").split("/"), query))
        except DeliveryError as error:
            return error.answer

    def space(self) -> dict[str, Any]:
        """The GET /spaces/{s} body (the name is the id unless the content knows it)."""
        locales = [
            {key: locale.get(key) for key in ("code", "default", "name", "fallbackCode")}
            for locale in self.content.locales()
        ]
        return {
            "sys": {"type": "Space", "id": self.content.space_id},
            "name": getattr(self.content, "space_name", self.content.space_id),
            "locales": locales,
        }

    # -- routing -------------------------------------------------------------------------

    def _route(self, parts: list[str], pairs: list[tuple[str, str]]) -> dict[str, Any]:
        kind, rest = parts[0], parts[1:]
        if kind == "" and not rest:
            return self._environment()
        if kind == "entries" and not rest:
            return self._entries(pairs)
        if kind == "assets" and not rest:
            return self._assets(pairs)
        if kind in ("entries", "assets") and len(rest) == 1:
            return self._single(kind, rest[0], pairs)
        if kind in ("content_types", "tags") and not rest:
            return self._types(kind, pairs)
        if kind in ("content_types", "tags") and len(rest) == 1:
            return self._single_type(kind, rest[0])
        if kind == "locales" and not rest:
            return self._locales(pairs)
        raise DeliveryError(404, "NotFound", "The resource could not be found.")

    def _environment(self) -> dict[str, Any]:
        space = {"sys": {"type": "Link", "linkType": "Space", "id": self.content.space_id}}
        environment = self.content.environment
        return {
            "name": environment,
            "sys": {"type": "Environment", "id": environment, "space": space},
        }

    def _schema(self) -> Schema:
        types = {item["sys"]["id"]: item for item in self.content.content_types()}
        return Schema(types, Locales(self.content.locales()))

    # -- entries and assets ----------------------------------------------------------------

    def _entries(self, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        schema = self._schema()
        query = parse(pairs, ENTRY_PARAMETERS, _ITEM_ROOTS)
        locale = schema.locales.check(query.locale)
        if query.content_type is not None and schema.fields_of(query.content_type) is None:
            raise unknown_content_type(query.content_type)
        if query.touches_fields() and query.content_type is None:
            raise bad_request(CONTENT_TYPE_REQUIRED_MESSAGE)
        reader = Reader(schema, locale, "Entry", query.content_type)
        found = self._exact_page(query, locale, ())
        if found is None:
            candidates = self._entry_candidates(query, schema, locale)
            found = self._matching(query, reader, candidates)
        page, items, body = self._localized_page(query, reader, *found)
        if query.include > 0:
            included = resolve(
                page, items, query.include, self.content, lambda i: localize(schema, i, locale)
            )
            included.add_to(body)
        return _checked_size(body)

    def _assets(self, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        schema = self._schema()
        query = parse(pairs, ASSET_PARAMETERS, _ITEM_ROOTS)
        locale = schema.locales.check(query.locale)
        reader = Reader(schema, locale, "Asset")
        by_id = self._by_ids(query, self.content.asset)
        candidates = self.content.assets() if by_id is None else by_id
        return _checked_size(self._page(query, reader, candidates)[2])

    def search(
        self, query: Query, item_type: str, extra: Sequence[Predicate] = ()
    ) -> tuple[list[Item], int]:
        """One page of the stored items a query on entries (`item_type` "Entry") or
        assets ("Asset") matches, and how many match in all, before any localizing: what
        the GraphQL API's collections read. `extra`: more tests, ANDed with the query's."""
        schema = self._schema()
        locale = schema.locales.check(query.locale)
        reader = Reader(schema, locale, item_type, query.content_type)
        if item_type == "Entry":
            exact = self._exact_page(query, locale, extra)
            if exact is not None:
                return exact
        candidates: Iterable[Item]
        if item_type == "Asset":
            by_id = self._by_ids(query, self.content.asset)
            candidates = self.content.assets() if by_id is None else by_id
        else:
            candidates = self._entry_candidates(query, schema, locale)
        return self._matching(query, reader, candidates, extra)

    def _exact_page(
        self, query: Query, locale: str, extra: Sequence[Predicate]
    ) -> tuple[list[Item], int] | None:
        """The page and count straight from the content's index (`find_page`), when
        every condition is a field equality the index answers exactly and the order is
        by sys.updatedAt and sys.id: a page of 100 among thousands costs 100 items read,
        not thousands. None otherwise."""
        find_page = getattr(self.content, "find_page", None)
        order = _index_order(query.order)
        if find_page is None or extra or query.content_type is None or order is None:
            return None
        if query.full_text or query.links_to_entry or query.links_to_asset or locale == ALL_LOCALES:
            return None
        equalities: dict[str, str] = {}
        for condition in query.conditions:
            path = condition.path
            plain = path[0] == "fields" and (len(path) == 2 or path[2:] == ("sys", "id"))
            key = ".".join(path[1:])
            if condition.operator or not plain or key in equalities:
                return None
            equalities[key] = condition.value
        found = find_page(query.content_type, equalities, locale, order, query.skip, query.limit)
        if found is None:
            return None
        total, page = found
        return page, total

    def _page(
        self, query: Query, reader: Reader, candidates: Iterable[Item]
    ) -> tuple[list[Item], list[Item], dict[str, Any]]:
        """Filter stored items, sort, cut the page, localize and select only the page."""
        return self._localized_page(query, reader, *self._matching(query, reader, candidates))

    def _localized_page(
        self, query: Query, reader: Reader, page: list[Item], total: int
    ) -> tuple[list[Item], list[Item], dict[str, Any]]:
        """The page as stored, as answered (localized, selected), and the answer's body."""
        items = [
            select(localize(reader.schema, item, reader.locale), query.select) for item in page
        ]
        return page, items, collection(items, total, query.skip, query.limit)

    def _matching(
        self,
        query: Query,
        reader: Reader,
        candidates: Iterable[Item],
        extra: Sequence[Predicate] = (),
    ) -> tuple[list[Item], int]:
        """The page of stored items matching the query (sorted, cut), and their count."""
        matches = compile_filter(query, reader, self.content.entry)
        matches.predicates += extra
        sort_passes(query.order, reader, matches.near)  # refuse a bad order before scanning
        matched = [i for i in candidates if matches(i)] if matches.predicates else list(candidates)
        end = query.skip + query.limit
        page = sort_page(matched, query.order, reader, matches.near, end)[query.skip :]
        return page, len(matched)

    def _entry_candidates(self, query: Query, schema: Schema, locale: str) -> Iterable[Item]:
        """Where the matches are among: the entries of `sys.id=`, the content's index
        (`find_entries`, see content.py) for field equalities, or every entry."""
        by_id = self._by_ids(query, self.content.entry)
        if by_id is not None:
            return by_id
        find = getattr(self.content, "find_entries", None)
        equalities = {
            ".".join(c.path[1:]): c.value
            for c in query.conditions
            if not c.operator and c.path[0] == "fields"
            if len(c.path) == 2 or c.path[2:] == ("sys", "id")
        }
        if query.content_type is not None and find is not None and equalities:
            code = schema.locales.default if locale == ALL_LOCALES else locale
            codes = sorted({*schema.locales.chain(code), schema.locales.default})
            found: Iterable[Item] | None = find(query.content_type, equalities, codes)
            if found is not None:
                return found
        return self.content.entries(query.content_type)

    @staticmethod
    def _by_ids(query: Query, lookup: Any) -> list[Item] | None:
        """Candidates of `sys.id=` or `sys.id[in]=`, found by id; None without either."""
        for condition in query.conditions:
            if condition.path == ("sys", "id") and condition.operator in ("", "in"):
                found = (lookup(item_id) for item_id in dict.fromkeys(condition.values()))
                return [item for item in found if item is not None]
        return None

    def _single(self, kind: str, item_id: str, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        schema = self._schema()
        locale = schema.locales.check(dict(pairs).get("locale"))
        item = self.content.entry(item_id) if kind == "entries" else self.content.asset(item_id)
        if item is None:
            raise not_found("Entry" if kind == "entries" else "Asset", item_id, *self._where())
        return localize(schema, item, locale)

    # -- content types, tags, locales ------------------------------------------------------

    def _types(self, kind: str, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        schema = self._schema()
        query = parse(pairs, TYPE_PARAMETERS, _TYPE_ROOTS)
        schema.locales.check(query.locale)
        item_type = "ContentType" if kind == "content_types" else "Tag"
        reader = Reader(schema, schema.locales.default, item_type)
        matches = compile_filter(query, reader)
        stored = self.content.content_types() if kind == "content_types" else self.content.tags()
        matched = [item for item in stored if matches(item)]
        end = query.skip + query.limit
        page = sort_page(matched, query.order, reader, end=end)[query.skip :]
        return collection(page, len(matched), query.skip, query.limit)

    def _single_type(self, kind: str, item_id: str) -> dict[str, Any]:
        stored = self.content.content_types() if kind == "content_types" else self.content.tags()
        for item in stored:
            if item["sys"]["id"] == item_id:
                return item
        raise not_found(
            "ContentType" if kind == "content_types" else "Tag", item_id, *self._where()
        )

    def _locales(self, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        query = parse(pairs, TYPE_PARAMETERS, frozenset())
        limit = dict(pairs).get("limit")
        limit_value = query.limit if limit is not None else _LOCALES_LIMIT
        locales = self.content.locales()
        page = locales[query.skip : query.skip + limit_value]
        return collection(page, len(locales), query.skip, limit_value)

    def _where(self) -> tuple[str, str]:
        return self.content.space_id, self.content.environment


_INDEX_COLUMNS: dict[tuple[str, ...], str] = {
    ("sys", "updatedAt"): "updated_at",
    ("sys", "id"): "id",
}


def _index_order(keys: list[OrderKey]) -> list[tuple[str, bool]] | None:
    """An order the index can sort by itself (its columns), ties broken by sys.id as
    sort_passes breaks them; None for any other key."""
    order = []
    for key in keys or DEFAULT_ORDER:
        column = _INDEX_COLUMNS.get(key.path)
        if column is None:
            return None
        order.append((column, key.descending))
    if order[-1][0] != "id":
        order.append(("id", False))
    return order


def _checked_size(body: dict[str, Any]) -> dict[str, Any]:
    """The answer, or 400 when it passes Contentful's response size cap."""
    size = len(compact_json(body))  # the bytes the server sends
    if size > MAX_RESPONSE_BYTES:
        raise DeliveryError(400, "BadRequest", too_big_message(MAX_RESPONSE_BYTES))
    return body
