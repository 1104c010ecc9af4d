"""The short executor (mirror/graphql/execution.py) answers exactly as graphql-core does:
the same data, key for key and in the same order, for the sites' recorded operations and
for queries using what a selection can hold (aliases, fragments on unions and
interfaces, @skip and @include, __typename, nested collections, linkedFrom, rich text);
the same errors (message, locations, path, extensions) in the same order, with the same
nulls, for unresolvable links and unknown locales and, over a schema made to fail, for
errors sent up through non-null fields and lists; and it gives up on introspection."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from mirror.delivery.server import ServedRevision
from mirror.emulator import Emulator, EmulatorConfig
from mirror.graphql import execution
from mirror.graphql.context import RequestContext, Revision
from mirror.graphql.http import GraphQLRequest
from mirror.graphql.loader import EntryNode, LinkLoader
from tests.conftest import sync_json
from tests.graphql_support import conformance, conformance_mirror, operation_variables

SAMPLE_QUERIES: list[tuple[str, dict[str, Any]]] = [
    (
        """query Places($limit: Int, $withRating: Boolean!, $noCategory: Boolean!) {
          placeCollection(limit: $limit, order: [rating_DESC, sys_id_ASC]) {
            total skip limit
            items {
              __typename
              sys { id publishedAt firstPublishedAt publishedVersion locale }
              name: title
              rating @include(if: $withRating)
              category @skip(if: $noCategory)
              location { lat lon } openingHours lastVerified priceLevel freeEntry
              city { name population areaKm2 location { lat } }
              photo { url width }
              ...PlaceParts
              ... on Place { title }
            }
          }
        }
        fragment PlaceParts on Place { title sys { spaceId environmentId } }""",
        {"limit": 7, "withRating": True, "noCategory": False},
    ),
    (
        """{ guide(id: "guide-river-cities") {
              author { ... on Author { name homeCity { __typename ... on City { name } } } }
              all: citiesCollection { total items { sys { id } ... on City { name } } }
              two: citiesCollection(skip: 1, limit: 2) { items { ... on City { name } } }
          } }""",
        {},
    ),
    (
        """{ city(id: "porto") { name linkedFrom { entryCollection { total items {
              __typename ... on Entry { sys { id } } } } } }
           asset(id: "porto-hero") { title url width height contentType fileName size
              linkedFrom { cityCollection { items { sys { id } } } } } }""",
        {},
    ),
    (
        """{ guideCollection(locale: "de-DE", where: {sys: {id_not: "guide-lisbon-on-foot"}}) {
            items { title
              body { json links { entries { block { __typename sys { id } }
                                          inline { sys { id } } hyperlink { sys { id } } }
                                  assets { block { url(transform: {width: 300, format: WEBP})
                                                   title } } } } } } }""",
        {},
    ),
    (
        """query ($where: PlaceFilter) { placeCollection(where: $where, limit: 50) {
              total items { sys { id } title rating } } }""",
        {"where": {"OR": [{"rating_gte": 4}, {"title_contains": "market"}]}},
    ),
    (
        """{ entryCollection(limit: 20, order: sys_id_ASC) { total items {
              __typename sys { id } contentfulMetadata { tags { id name } }
              ... on City { name } ... on Place { title } } }
           assetCollection(limit: 5, locale: "fr-FR") { items { title description url } } }""",
        {},
    ),
    (
        """{ placeCollection(limit: 3, locale: "fr-FR") { items {
              title en: title(locale: "en-US") sys { locale } } } }""",
        {},
    ),
    ("{ __typename __schema { queryType { name } } }", {}),
    ('{ city(id: "no-such-city") { name } }', {}),
]


def _revision(directory: Path) -> Iterator[Revision]:
    served = ServedRevision(directory, "HEAD")
    try:
        yield served.graphql().source.revision()
    finally:
        served.content.close()


@pytest.fixture(scope="module")
def sample_mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sample")
    with Emulator(EmulatorConfig()) as emulator:
        sync_json(emulator, directory, "--download-assets")
    return directory


@pytest.fixture(scope="module")
def sample(sample_mirror: Path) -> Iterator[Revision]:
    yield from _revision(sample_mirror)


def both(revision: Revision, query: str, variables: dict[str, Any]) -> tuple[Any, ExecutionResult]:
    """The short executor's data (None: it gave up) and graphql-core's answer, each
    from a request context of its own."""
    schema = revision.served.schema
    document = parse(query)
    assert validate(schema, document) == []
    operation = get_operation_ast(document)
    assert operation is not None
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
    assert not isinstance(coerced, list), coerced
    mine = execution.execute_plainly(
        schema, document, operation, coerced, RequestContext(revision, "mirror.test")
    )
    theirs = execute(
        schema,
        document,
        variable_values=variables,
        context_value=RequestContext(revision, "mirror.test"),
    )
    assert isinstance(theirs, ExecutionResult)
    return mine, theirs


def _same(mine: ExecutionResult | None, theirs: ExecutionResult, errors: bool = False) -> None:
    assert mine is not None, "the short executor gave up"
    assert (theirs.errors is not None) is errors, theirs.errors
    # Key order too: the answer is sent as graphql-core orders it.
    assert json.dumps(mine.formatted) == json.dumps(theirs.formatted)


@pytest.mark.parametrize("number", range(len(SAMPLE_QUERIES) - 2))
def test_the_short_executor_answers_as_graphql_core(sample: Revision, number: int) -> None:
    query, variables = SAMPLE_QUERIES[number]
    mine, theirs = both(sample, query, variables)
    _same(mine, theirs)
    assert theirs.data and all(value is not None for value in theirs.data.values())


def test_introspection_is_left_to_graphql_core(sample: Revision) -> None:
    mine, theirs = both(sample, *SAMPLE_QUERIES[-2])
    assert mine is None
    assert theirs.data == {"__typename": "Query", "__schema": {"queryType": {"name": "Query"}}}


def test_a_missing_entry_is_null_in_both(sample: Revision) -> None:
    mine, theirs = both(sample, *SAMPLE_QUERIES[-1])
    _same(mine, theirs)
    assert mine and mine.data == {"city": None}


def test_an_unknown_locale_is_an_error_in_place(sample: Revision) -> None:
    query = '{ a: placeCollection(limit: 1) { total } b: placeCollection(locale: "xx") { total } }'
    mine, theirs = both(sample, query, {})
    _same(mine, theirs, errors=True)
    assert theirs.data == {"a": {"total": theirs.data["a"]["total"]}, "b": None}
    assert theirs.errors and theirs.errors[0].path == ["b"]


def test_unresolvable_links_are_errors_at_their_positions(sample: Revision) -> None:
    """The guide's missing asset, as a link, in rich text and in a list, at every
    position a guide holds it: one error each, in graphql-core's order."""
    query = """{ guideCollection(order: sys_id_ASC) { items { sys { id }
          body { links { assets { block { sys { id } url } hyperlink { url } } } }
          coverImage { url }
          attachmentsCollection { items { url } } author { __typename }
          first: citiesCollection(limit: 1) { items { ... on City { name } } } } } }"""
    mine, theirs = both(sample, query, {})
    _same(mine, theirs, errors=True)
    assert mine and mine.errors
    assert {error.extensions["contentful"]["code"] for error in mine.errors} == {  # type: ignore[index]
        "UNRESOLVABLE_LINK"
    }


@pytest.mark.parametrize("space", ["blog", "ecommerce", "marketing"])
def test_the_sites_operations_get_graphql_cores_answers(
    space: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = conformance_mirror(tmp_path_factory.mktemp(space), space)
    for revision in _revision(directory):
        for operation in conformance(f"queries-{space}.json")["operations"]:
            variables = operation_variables(operation, space)
            mine, theirs = both(revision, operation["document"], variables)
            _same(mine, theirs)


def test_answers_leave_no_item_to_the_garbage_collector(sample_mirror: Path) -> None:
    """What a request read goes when its answer is made, errors or not: nothing it read
    waits in a reference cycle for a collection (a server keeping no parsed items grew
    by 150 MB of such cycles under answers with errors)."""
    served = ServedRevision(sample_mirror, "HEAD", 0)
    endpoint = served.graphql()
    facts = served.content
    path = f"/content/v1/spaces/{facts.space_id}/environments/{facts.environment}"
    query = """query ($n: String) {
      guideCollection(where: {title_not: $n}, limit: 5) { items { title
        body { links { assets { block { url } } } } } }
      placeCollection(where: {title_not: $n}, limit: 30) { items { title
        city { ... on City { name } } } } }"""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for number in range(5):
            body = json.dumps({"query": query, "variables": {"n": str(number)}}).encode()
            request = GraphQLRequest("POST", path, [], "application/json", body, "h:1", len(body))
            answer = endpoint.answer(request)
            assert b"UNRESOLVABLE_LINK" in answer.body  # the guide's missing asset
        gc.collect()
        # graphql-core's executor may still wait there with the context, read nothing.
        left = [o for o in gc.garbage if isinstance(o, EntryNode)]
        left += [o for o in gc.garbage if isinstance(o, LinkLoader) and o._items]
        left += [o for o in gc.garbage if isinstance(o, dict) and "fields" in o and "sys" in o]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
        served.content.close()
    assert left == []


_FAILING_SCHEMA = """
type Query { a: A  b: A!  list: [A]  strict: [A!]  strictAll: [A!]!  boom: String
             raises: A  u: [U]  grid: [[A!]] }
type A { ok: String  bad: String  req: String!  reqBad: String!  child: A  reqChild: A!
         values: [String!]  loose: [String]  n: Int }
type B { x: String! }
union U = A | B
"""


def _failing_schema() -> GraphQLSchema:
    """A schema whose values fail in each way a field can: an error returned or raised,
    a null where none may be, inside lists of each nullability and nested lists."""
    schema = build_schema(_FAILING_SCHEMA)

    def a(number: int, depth: int = 2) -> dict[str, Any]:
        value: dict[str, Any] = {
            "ok": f"ok {number}",
            "bad": GraphQLError(f"bad {number}", extensions={"code": "BAD"}),
            "req": None if number % 3 == 1 else f"req {number}",
            "reqBad": ValueError(f"reqBad {number}"),
            "values": ["x", None, "z"] if number % 2 else ["x"],
            "loose": ["x", RuntimeError(f"loose {number}"), None],
            "n": number,
            "__kind": "A",
        }
        if depth:
            value["child"] = a(number + 1, depth - 1)
            value["reqChild"] = a(number + 2, depth - 1)
        return value

    def boom(*_: Any) -> Any:
        raise RuntimeError("boom")

    roots: dict[str, Any] = {
        "a": lambda *_: a(0),
        "b": lambda *_: a(1),
        "list": lambda *_: [a(0), None, a(1), a(2)],
        "strict": lambda *_: [a(0), a(1), None, a(3)],
        "strictAll": lambda *_: [a(0), a(4)],
        "boom": boom,
        "raises": boom,
        "u": lambda *_: [a(0), {"x": "b", "__kind": "B"}, {"x": None, "__kind": "B"}, None],
        "grid": lambda *_: [[a(0), a(2)], None, [a(4), None], [a(1)]],
    }
    assert schema.query_type is not None
    for name, resolve in roots.items():
        schema.query_type.fields[name].resolve = resolve
    union = schema.get_type("U")
    assert isinstance(union, GraphQLUnionType)
    union.resolve_type = lambda value, *_: value["__kind"]
    return schema


FAILING_QUERIES = [
    "{ a { ok bad n } list { ok bad } }",
    "{ list { ok req n } again: a { n } }",
    "{ a { child { ok req reqBad n } n } }",
    "{ list { n reqChild { ok req } child { reqChild { req n } } } }",
    "{ list { n req } strict { n } }",
    "{ strict { n req } }",
    "{ strictAll { n req } list { n } }",
    "{ a { values loose } list { values } }",
    "{ boom ok: a { ok } raises { ok } after: boom }",
    "{ u { __typename ... on A { ok bad } ... on B { x } } }",
    "{ grid { n req child { req } } }",
    "{ a { ok } b { n req } }",
    "{ a { ...F child { ...F } } } fragment F on A { bad ok: n req }",
]


@pytest.mark.parametrize("query", FAILING_QUERIES)
def test_errors_are_located_and_sent_up_as_graphql_core_does(query: str) -> None:
    schema = _failing_schema()
    document = parse(query)
    assert validate(schema, document) == []
    operation = get_operation_ast(document)
    assert operation is not None
    mine = execution.execute_plainly(schema, document, operation, {}, None)
    theirs = execute(schema, document)
    assert isinstance(theirs, ExecutionResult)
    assert theirs.errors, "each query meets an error"
    assert mine is not None, "the short executor gave up"
    assert json.dumps(mine.formatted) == json.dumps(theirs.formatted)
