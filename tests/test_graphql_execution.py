"""The short executor (mirror/graphql/execution.py) answers exactly as graphql-core does:
the same data, key for key and in the same order, for the sites' recorded operations and
for queries using what a selection can hold (aliases, fragments on unions and
interfaces, @skip and @include, __typename, nested collections, linkedFrom, rich text);
and where graphql-core's answer has errors, it gives up and graphql-core's answer is
the one sent."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql import ExecutionResult, execute, get_operation_ast, parse, validate
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


def _same(mine: Any, theirs: ExecutionResult) -> None:
    assert theirs.errors is None, theirs.errors
    assert mine is not None, "the short executor gave up on an answer without errors"
    # Key order too: the answer is sent as graphql-core orders it.
    assert json.dumps(mine) == json.dumps(theirs.data)


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
    assert mine == {"city": None}


def test_an_answer_with_errors_is_graphql_cores(sample: Revision) -> None:
    # An unknown locale: null there, with UNKNOWN_LOCALE, which only graphql-core words.
    query = '{ a: placeCollection(limit: 1) { total } b: placeCollection(locale: "xx") { total } }'
    mine, theirs = both(sample, query, {})
    assert mine is None
    assert theirs.data == {"a": {"total": theirs.data["a"]["total"]}, "b": None}
    assert theirs.errors and theirs.errors[0].path == ["b"]


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
