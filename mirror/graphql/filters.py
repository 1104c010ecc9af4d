"""`where` inputs as tests on stored items, in the delivery engine's own terms.

A filter's plain keys (`slug: "x"`, `rating_gt: 4`, `sys: {id_in: [...]}`) become the
engine's `Condition`s, so that the engine's index answers field equalities and its
comparisons, full text and geometry are the REST API's; what the REST query language
cannot say (`OR`, `_not_contains`, a nested filter on linked entries, a filter on
`contentfulMetadata` inside `OR`) becomes extra predicates. `AND` merges into its parent:
keys of one filter are ANDed anyway."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mirror.delivery.content import Item
from mirror.delivery.filters import Predicate, compile_filter
from mirror.delivery.index import number_text
from mirror.delivery.localize import value_in
from mirror.delivery.paths import Reader
from mirror.delivery.query import Condition, Query
from mirror.graphql.context import RequestContext
from mirror.graphql.inputs import SYS_TERMS, Term
from mirror.graphql.loader import link_ids

ALL = 10**9  # "every match": a limit no page reaches
_URL = ("fields", "file", "url")


@dataclass
class Compiled:
    """A filter as the engine takes it: conditions, and predicates beyond them."""

    conditions: list[Condition] = field(default_factory=list)
    predicates: list[Predicate] = field(default_factory=list)

    def test(self, reader: Reader, ctx: RequestContext) -> Predicate:
        """Everything as one test."""
        tests = list(self.predicates)
        if self.conditions:
            tests.insert(0, compile_filter(Query(conditions=self.conditions), reader))
        return lambda item: all(test(item) for test in tests)


def compile_where(
    where: dict[str, Any] | None, filter_name: str, reader: Reader, ctx: RequestContext
) -> Compiled:
    compiled = Compiled()
    if where:
        _add(compiled, where, ctx.revision.served.terms[filter_name], filter_name, reader, ctx)
    return compiled


def _add(
    compiled: Compiled,
    where: dict[str, Any],
    terms: dict[str, Term],
    filter_name: str,
    reader: Reader,
    ctx: RequestContext,
) -> None:
    for key, value in where.items():
        term = terms[key]
        if value is None:
            continue  # an explicit null filters nothing
        if term.kind == "path":
            _add_condition(compiled, term, value, reader, ctx)
        elif term.kind == "sys":
            for sys_key, sys_value in value.items():
                if sys_value is not None:
                    _add_condition(compiled, SYS_TERMS[sys_key], sys_value, reader, ctx)
        elif term.kind == "metadata":
            compiled.conditions += _metadata(value)
        elif term.kind == "and":
            for branch in value:
                if branch is not None:
                    _add(compiled, branch, terms, filter_name, reader, ctx)
        elif term.kind == "or":
            branches = [
                compile_where(branch, filter_name, reader, ctx).test(reader, ctx)
                for branch in value
                if branch is not None
            ]
            compiled.predicates.append(_any(branches))
        else:
            compiled.predicates.append(_nested(term, value, reader, ctx))


def _any(tests: list[Predicate]) -> Predicate:
    return lambda item: any(test(item) for test in tests)


def _add_condition(
    compiled: Compiled, term: Term, value: Any, reader: Reader, ctx: RequestContext
) -> None:
    operator = term.operator
    if operator == "within":
        compiled.conditions.append(Condition(term.path, operator, _area(term.suffix, value)))
        return
    if isinstance(value, list):
        texts = tuple(_text(term.path, v) for v in value if v is not None)
        condition = Condition(term.path, operator, ",".join(texts), texts)
    else:
        condition = Condition(term.path, operator.lstrip("!"), _text(term.path, value))
    if operator == "!match":
        test = compile_filter(Query(conditions=[condition]), reader)
        compiled.predicates.append(lambda item: not test(item))
    else:
        compiled.conditions.append(condition)


def _text(path: tuple[str, ...], value: Any) -> str:
    """A GraphQL value as the query string the engine compares with."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return number_text(value)
    text = str(value)
    if path == _URL:  # stored URLs are protocol-relative; GraphQL shows https:
        for scheme in ("https:", "http:"):
            text = text.removeprefix(scheme)
    return text


def _area(suffix: str, value: dict[str, Any]) -> str:
    """A Circle (lat, lon, radius in km) or Rectangle as the engine's `[within]`."""
    numbers: tuple[float, ...]
    if suffix == "_within_circle":
        numbers = (value["lat"], value["lon"], value["radius"])
    else:  # south-west corner, then north-east
        numbers = (
            value["bottomRightLat"],
            value["topLeftLon"],
            value["topLeftLat"],
            value["bottomRightLon"],
        )
    return ",".join(number_text(number) for number in numbers)


def _metadata(value: dict[str, Any]) -> list[Condition]:
    conditions = []
    if value.get("tags_exists") is not None:
        conditions.append(
            Condition(("metadata", "tags"), "exists", _text((), value["tags_exists"]))
        )
    operators = {"id_contains_all": "all", "id_contains_some": "in", "id_contains_none": "nin"}
    for key, tags in (value.get("tags") or {}).items():
        if tags is not None:
            ids = tuple(str(tag) for tag in tags if tag is not None)
            path = ("metadata", "tags", "sys", "id")
            conditions.append(Condition(path, operators[key], ",".join(ids), ids))
    return conditions


def _nested(term: Term, value: dict[str, Any], reader: Reader, ctx: RequestContext) -> Predicate:
    """Entries whose link field points at an entry passing the nested filter: the
    matching targets are found once (the index answers their equalities)."""
    assert term.field is not None
    target = term.field.single_type or ""
    target_reader = Reader(reader.schema, reader.locale, "Entry", target)
    compiled = compile_where(value, term.nested, target_reader, ctx)
    query = Query(limit=ALL, locale=reader.locale, content_type=target)
    query.conditions = compiled.conditions
    matching, _ = ctx.revision.engine.search(query, "Entry", compiled.predicates)
    wanted = {item["sys"]["id"] for item in matching}
    definition = term.field.definition
    chain = ctx.chain(definition, reader.locale, True)

    def passes(item: Item) -> bool:
        value_here = value_in((item.get("fields") or {}).get(definition.id), chain)
        return any(target_id in wanted for target_id in link_ids(value_here, "Entry"))

    return passes
