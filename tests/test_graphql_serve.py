"""`mirror serve DIR` answers the GraphQL Content API over real HTTP: the sites' operations
run against mirrors holding their content models, answers agree with the REST API's for
the same content (every item, value and link), and filters, order, locales, links,
linkedFrom and rich text behave as Contentful documents them."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from PIL import Image

from mirror.delivery import index
from mirror.delivery.server import MirrorServer
from mirror.emulator import Emulator, EmulatorConfig
from mirror.graphql import execution
from mirror.graphql.builtins import serialize_date_time
from tests.conftest import sync_json
from tests.graphql_support import (
    GraphQL,
    conformance,
    conformance_mirror,
    operation_variables,
)
from tests.serving import Reader, serving

SPACES = ("blog", "ecommerce", "marketing")
LOCALES = ("en-US", "de-DE", "fr-FR")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MirrorServer]:
    """The sample space after its last round, with its asset files, served."""
    directory = tmp_path_factory.mktemp("sample")
    with Emulator(EmulatorConfig()) as emulator:
        sync_json(emulator, directory, "--download-assets")
    with serving(directory) as server:
        yield server


@pytest.fixture(scope="module", params=SPACES)
def recorded_space(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, MirrorServer]]:
    directory = conformance_mirror(tmp_path_factory.mktemp(request.param), request.param)
    with serving(directory) as server:
        yield request.param, server


# -- the sites' own operations -------------------------------------------------------------


def _filled(value: Any) -> int:
    """How many non-null leaves an answer has."""
    if isinstance(value, dict):
        return sum(_filled(v) for v in value.values())
    if isinstance(value, list):
        return sum(_filled(v) for v in value)
    return 0 if value is None else 1


def test_every_operation_of_the_site_runs_against_a_mirror_of_its_model(
    recorded_space: tuple[str, MirrorServer],
) -> None:
    space, server = recorded_space
    client = GraphQL(server)
    for operation in conformance(f"queries-{space}.json")["operations"]:
        response = client.post(operation["document"], operation_variables(operation, space))
        assert response.status_code == 200, (operation["name"], response.text)
        body = response.json()
        assert "errors" not in body, (operation["name"], body["errors"])
        roots = list(body["data"].values())
        assert roots and all(root is not None for root in roots), operation["name"]
        assert _filled(body["data"]) >= 3, (operation["name"], body["data"])


@pytest.mark.parametrize("recorded_space", ["marketing"], indirect=True)
def test_the_sites_typenames_and_fragments_on_unions_come_back(
    recorded_space: tuple[str, MirrorServer],
) -> None:
    space, server = recorded_space
    operation = next(
        op for op in conformance("queries-marketing.json")["operations"] if op["name"] == "CtfPage"
    )
    data = GraphQL(server).data(operation["document"], operation_variables(operation, space))
    page = data["pageCollection"]["items"][0]
    assert page["__typename"] == "Page" and page["slug"] == "example-slug"
    members = {"ComponentCta", "ComponentDuplex", "ComponentHeroBanner", "ComponentInfoBlock"}
    members |= {"ComponentQuote", "ComponentTextBlock"}
    assert page["topSectionCollection"]["items"]
    assert {item["__typename"] for item in page["topSectionCollection"]["items"]} <= members
    assert page["pageContent"]["__typename"] in {
        "ComponentProductTable",
        "TopicBusinessInfo",
        "TopicProduct",
    }


# -- agreement with the REST API -------------------------------------------------------------


def _selection(field: dict[str, Any]) -> str:
    """How the agreement test asks for one field: values as they are, links by id."""
    name, kind = field["id"], field["type"]
    if kind == "Location":
        return f"{name} {{ lat lon }}"
    if kind == "RichText":
        return f"{name} {{ json }}"
    if kind == "ResourceLink":
        return f"{name} {{ sys {{ urn linkType }} }}"
    if kind == "Link" or _is_links(field):
        holder = field["items"] if kind == "Array" else field
        inner = "sys { id }" if holder.get("linkType") == "Asset" else "... on Entry { sys { id } }"
        if kind == "Link":
            return f"{name} {{ {inner} }}"
        return f"{name}Collection(limit: 20) {{ total items {{ {inner} }} }}"
    return name


def _graphql_value(field: dict[str, Any], value: Any) -> Any:
    """A GraphQL field's value in the REST API's terms (links as ids, None: absent)."""
    kind = field["type"]
    if value is None:
        return None
    if kind == "Link":
        return value["sys"]["id"]
    if kind == "Array" and field["items"]["type"] == "Link":
        return [item and item["sys"]["id"] for item in value["items"]] or None
    if kind == "RichText":
        return value["json"]
    return value


def _rest_value(field: dict[str, Any], value: Any, exists: set[str]) -> Any:
    kind = field["type"]
    if value is None:
        return None
    if kind == "Link":
        return value["sys"]["id"] if value["sys"]["id"] in exists else None
    if kind == "Array" and field["items"]["type"] == "Link":
        return [
            link["sys"]["id"] if link["sys"]["id"] in exists else None for link in value
        ] or None
    if kind == "Date":
        return _instant(value)
    if kind == "ResourceLink":
        return {"sys": {"urn": value["sys"]["urn"], "linkType": value["sys"]["linkType"]}}
    return value


def _instant(text: str) -> str:
    return serialize_date_time(text)


@pytest.mark.parametrize("locale", LOCALES)
def test_entries_agree_with_the_rest_api_on_every_item_value_and_link(
    sample: MirrorServer, locale: str
) -> None:
    rest, client = Reader.of(sample), GraphQL(sample)
    exists = {
        item["sys"]["id"]
        for kind in ("/entries", "/assets")
        for item in rest.json(kind, limit=1000)["items"]
    }
    for content_type in rest.json("/content_types")["items"]:
        type_id = content_type["sys"]["id"]
        fields = content_type["fields"]
        name = type_id[0].upper() + type_id[1:]
        selection = " ".join(_selection(field) for field in fields)
        query = (
            f'{{ {type_id}Collection(limit: 50, locale: "{locale}", order: sys_id_ASC) '
            "{ total items { sys { id publishedAt firstPublishedAt publishedVersion locale } "
            f"{selection} }} }} }}"
        )
        response = client.post(query)
        assert response.status_code == 200, response.text
        answer = response.json()["data"][f"{type_id}Collection"]
        expected = rest.json(
            "/entries", content_type=type_id, locale=locale, limit=50, order="sys.id"
        )
        assert answer["total"] == expected["total"], name
        assert [item["sys"]["id"] for item in answer["items"]] == [
            item["sys"]["id"] for item in expected["items"]
        ]
        for mine, theirs in zip(answer["items"], expected["items"], strict=True):
            assert mine["sys"] == {
                "id": theirs["sys"]["id"],
                "publishedAt": _instant(theirs["sys"]["updatedAt"]),
                "firstPublishedAt": _instant(theirs["sys"]["createdAt"]),
                "publishedVersion": theirs["sys"]["revision"],
                "locale": locale,
            }
            for field in fields:
                got = _graphql_value(
                    field, mine[field["id"] + ("Collection" if _is_links(field) else "")]
                )
                want = _rest_value(field, theirs["fields"].get(field["id"]), exists)
                assert got == want, (name, theirs["sys"]["id"], field["id"], locale)


def _is_links(field: dict[str, Any]) -> bool:
    return field["type"] == "Array" and field["items"]["type"] == "Link"


@pytest.mark.parametrize("locale", LOCALES)
def test_assets_agree_with_the_rest_api_urls_included(sample: MirrorServer, locale: str) -> None:
    rest, client = Reader.of(sample), GraphQL(sample)
    query = (
        f'{{ assetCollection(limit: 100, locale: "{locale}", order: sys_id_ASC) {{ total items '
        "{ sys { id } title description url fileName contentType size width height } } }"
    )
    answer = client.data(query)["assetCollection"]
    expected = rest.json("/assets", locale=locale, limit=100, order="sys.id")
    assert answer["total"] == expected["total"] > 0
    for mine, theirs in zip(answer["items"], expected["items"], strict=True):
        file = theirs["fields"].get("file") or {}
        details = file.get("details") or {}
        assert mine == {
            "sys": {"id": theirs["sys"]["id"]},
            "title": theirs["fields"].get("title"),
            "description": theirs["fields"].get("description"),
            "url": "http:" + file["url"],  # this server's /files/, made absolute
            "fileName": file.get("fileName"),
            "contentType": file.get("contentType"),
            "size": details.get("size"),
            "width": (details.get("image") or {}).get("width"),
            "height": (details.get("image") or {}).get("height"),
        }
        assert "/files/" in mine["url"]


# -- where and order, as the REST API's search parameters say -----------------------------

# (content type, GraphQL `where`, the REST parameters that select the same entries)
FILTERS: list[tuple[str, str, dict[str, Any]]] = [
    ("place", '{category: "market"}', {"fields.category": "market"}),
    ("place", '{category_not: "market"}', {"fields.category[ne]": "market"}),
    ("place", '{category_in: ["market", "food"]}', {"fields.category[in]": "market,food"}),
    ("place", '{category_not_in: ["walk", "museum"]}', {"fields.category[nin]": "walk,museum"}),
    ("place", "{category_exists: true}", {"fields.category[exists]": "true"}),
    ("place", '{title_contains: "market"}', {"fields.title[match]": "market"}),
    ("place", '{offlineTip_contains: "upstairs"}', {"fields.offlineTip[match]": "upstairs"}),
    ("place", "{rating: 4.6}", {"fields.rating": "4.6"}),
    ("place", "{rating_not: 4.6}", {"fields.rating[ne]": "4.6"}),
    ("place", "{rating_gt: 4.6}", {"fields.rating[gt]": "4.6"}),
    ("place", "{rating_gte: 4.6}", {"fields.rating[gte]": "4.6"}),
    ("place", "{rating_lt: 4.5}", {"fields.rating[lt]": "4.5"}),
    ("place", "{rating_lte: 4.5}", {"fields.rating[lte]": "4.5"}),
    ("place", "{rating_in: [4.4, 4.9]}", {"fields.rating[in]": "4.4,4.9"}),
    ("place", "{priceLevel_not_in: [0, 1]}", {"fields.priceLevel[nin]": "0,1"}),
    ("place", "{priceLevel_exists: false}", {"fields.priceLevel[exists]": "false"}),
    ("place", "{freeEntry: true}", {"fields.freeEntry": "true"}),
    ("place", "{freeEntry_not: true}", {"fields.freeEntry[ne]": "true"}),
    ("place", '{lastVerified_gte: "2026-03-01"}', {"fields.lastVerified[gte]": "2026-03-01"}),
    (
        "place",
        '{lastVerified_lt: "2026-03-01T00:00:00Z"}',
        {"fields.lastVerified[lt]": "2026-03-01T00:00:00Z"},
    ),
    (
        "place",
        "{location_within_circle: {lat: 38.7223, lon: -9.1393, radius: 5}}",
        {"fields.location[within]": "38.7223,-9.1393,5"},
    ),
    (
        "place",
        "{location_within_rectangle: "
        "{topLeftLat: 45, topLeftLon: -10, bottomRightLat: 35, bottomRightLon: 0}}",
        {"fields.location[within]": "35,-10,45,0"},
    ),
    ("place", "{photo_exists: true}", {"fields.photo[exists]": "true"}),
    ("place", '{body_contains: "upstairs"}', {"fields.body[match]": "upstairs"}),
    ("place", "{body_exists: false}", {"fields.body[exists]": "false"}),
    (
        "place",
        '{city: {name: "Porto"}}',
        {"fields.city.sys.contentType.sys.id": "city", "fields.city.fields.name": "Porto"},
    ),
    (
        "place",
        "{city: {population_gt: 1000000}}",
        {
            "fields.city.sys.contentType.sys.id": "city",
            "fields.city.fields.population[gt]": "1000000",
        },
    ),
    ("place", '{city: {sys: {id: "lisbon"}}}', {"fields.city.sys.id": "lisbon"}),
    (
        "place",
        "{AND: [{rating_gt: 4.4}, {freeEntry: false}]}",
        {"fields.rating[gt]": "4.4", "fields.freeEntry": "false"},
    ),
    (
        "place",
        '{sys: {id_in: ["porto-bolhao-market", "lisbon-tile-museum", "no-such-place"]}}',
        {"sys.id[in]": "porto-bolhao-market,lisbon-tile-museum,no-such-place"},
    ),
    (
        "place",
        '{sys: {publishedAt_gt: "2026-03-05T00:00:00Z"}}',
        {"sys.updatedAt[gt]": "2026-03-05T00:00:00Z"},
    ),
    ("place", '{sys: {firstPublishedAt_gte: "2026-03-10"}}', {"sys.createdAt[gte]": "2026-03-10"}),
    ("place", "{sys: {publishedVersion_gte: 2}}", {"sys.revision[gte]": "2"}),
    ("place", "{contentfulMetadata: {tags_exists: false}}", {"metadata.tags[exists]": "false"}),
    ("city", '{tags_contains_all: ["river", "bridges"]}', {"fields.tags[all]": "river,bridges"}),
    ("city", '{tags_contains_some: ["coast", "food"]}', {"fields.tags[in]": "coast,food"}),
    ("city", '{tags_contains_none: ["river"]}', {"fields.tags[nin]": "river"}),
    ("city", "{tags_exists: false}", {"fields.tags[exists]": "false"}),
    (
        "city",
        "{population_gt: 400000, areaKm2_lt: 900}",
        {"fields.population[gt]": "400000", "fields.areaKm2[lt]": "900"},
    ),
    (
        "city",
        "{highlights: {rating_gte: 4.9}}",
        {
            "fields.highlights.sys.contentType.sys.id": "place",
            "fields.highlights.fields.rating[gte]": "4.9",
        },
    ),
    ("city", "{highlightsCollection_exists: true}", {"fields.highlights[exists]": "true"}),
    ("author", '{languages_contains_some: ["de", "ja"]}', {"fields.languages[in]": "de,ja"}),
    ("author", "{homeCity_exists: true}", {"fields.homeCity[exists]": "true"}),
    (
        "guide",
        "{estimatedDays_gte: 3, offlineReady: false}",
        {"fields.estimatedDays[gte]": "3", "fields.offlineReady": "false"},
    ),
    ("guide", '{publishedOn_lt: "2026-02-01"}', {"fields.publishedOn[lt]": "2026-02-01"}),
    ("guide", "{citiesCollection_exists: true}", {"fields.cities[exists]": "true"}),
]


def _ids(client: GraphQL, content_type: str, where: str, extra: str = "") -> tuple[list[str], int]:
    query = (
        f"{{ {content_type}Collection(where: {where}, order: sys_id_ASC{extra}) "
        "{ total items { sys { id } } } }"
    )
    found = client.data(query)[f"{content_type}Collection"]
    return [item["sys"]["id"] for item in found["items"]], found["total"]


def test_every_filter_selects_what_the_rest_api_selects(sample: MirrorServer) -> None:
    rest, client = Reader.of(sample), GraphQL(sample)
    narrowing = 0
    for content_type, where, params in FILTERS:
        mine, total = _ids(client, content_type, where)
        everything = rest.json("/entries", content_type=content_type, limit=1000)["total"]
        expected = rest.json(
            "/entries", content_type=content_type, order="sys.id", limit=1000, **params
        )
        assert mine == [item["sys"]["id"] for item in expected["items"]], where
        assert total == expected["total"], where
        narrowing += 0 < total < everything
    assert narrowing >= len(FILTERS) * 3 // 4  # the table tests filters, not all-or-nothing


def test_negated_full_text_and_or_select_the_complement_and_the_union(sample: MirrorServer) -> None:
    rest, client = Reader.of(sample), GraphQL(sample)

    def rest_ids(**params: Any) -> set[str]:
        found = rest.json("/entries", content_type="place", limit=1000, **params)["items"]
        return {item["sys"]["id"] for item in found}

    everything = rest_ids()
    without, _ = _ids(client, "place", '{title_not_contains: "market"}')
    assert set(without) == everything - rest_ids(**{"fields.title[match]": "market"})
    either, total = _ids(client, "place", '{OR: [{category: "market"}, {rating_gte: 4.8}]}')
    union = rest_ids(**{"fields.category": "market"}) | rest_ids(**{"fields.rating[gte]": "4.8"})
    assert set(either) == union and total == len(union) and either == sorted(either)
    nested, _ = _ids(
        client, "place", '{OR: [{AND: [{freeEntry: true}, {priceLevel: 1}]}, {category: "bath"}]}'
    )
    expected = rest_ids(**{"fields.freeEntry": "true", "fields.priceLevel": "1"})
    assert set(nested) == expected | rest_ids(**{"fields.category": "bath"})


def test_filters_read_values_in_the_collections_locale(sample: MirrorServer) -> None:
    rest, client = Reader.of(sample), GraphQL(sample)
    mine, _ = _ids(client, "place", '{title_contains: "Flohmarkt"}', ', locale: "de-DE"')
    params = {"fields.title[match]": "Flohmarkt", "locale": "de-DE", "order": "sys.id"}
    expected = rest.json("/entries", content_type="place", **params)["items"]
    assert mine == [item["sys"]["id"] for item in expected] and mine


@pytest.mark.parametrize(
    ("content_type", "order", "rest_order"),
    [
        ("place", "[category_ASC, rating_DESC]", "fields.category,-fields.rating"),
        ("place", "[sys_publishedAt_DESC]", "-sys.updatedAt"),
        ("place", "[lastVerified_ASC, sys_id_DESC]", "fields.lastVerified,-sys.id"),
        ("place", "[freeEntry_DESC, priceLevel_ASC]", "-fields.freeEntry,fields.priceLevel"),
        ("city", "[population_DESC]", "-fields.population"),
        ("guide", "[publishedOn_ASC]", "fields.publishedOn"),
        ("place", "[]", "-sys.updatedAt,sys.id"),  # Contentful's default order
    ],
)
def test_order_with_several_keys_is_the_rest_apis(
    sample: MirrorServer, content_type: str, order: str, rest_order: str
) -> None:
    rest, client = Reader.of(sample), GraphQL(sample)
    for skip, limit in ((0, 100), (3, 5)):
        query = (
            f"{{ {content_type}Collection(order: {order}, skip: {skip}, limit: {limit}) "
            "{ skip limit total items { sys { id } } } }"
        )
        found = client.data(query)[f"{content_type}Collection"]
        expected = rest.json(
            "/entries", content_type=content_type, order=rest_order, skip=skip, limit=limit
        )
        assert [i["sys"]["id"] for i in found["items"]] == [
            i["sys"]["id"] for i in expected["items"]
        ]
        assert (found["skip"], found["limit"], found["total"]) == (skip, limit, expected["total"])


def test_assets_filter_and_order_by_their_file(sample: MirrorServer) -> None:
    rest, client = Reader.of(sample), GraphQL(sample)
    query = (
        '{ assetCollection(where: {contentType: "image/png", size_gt: 1000}, order: [size_DESC]) '
        "{ total items { sys { id } size contentType } } }"
    )
    found = client.data(query)["assetCollection"]
    expected = rest.json(
        "/assets",
        **{"fields.file.contentType": "image/png", "fields.file.details.size[gt]": "1000"},
        order="-fields.file.details.size",
    )
    assert [i["sys"]["id"] for i in found["items"]] == [i["sys"]["id"] for i in expected["items"]]
    assert found["total"] == expected["total"] > 0
    sizes = [item["size"] for item in found["items"]]
    assert sizes == sorted(sizes, reverse=True) and all(size > 1000 for size in sizes)


# -- locales -------------------------------------------------------------------------------


def test_locale_cascades_to_links_and_a_field_may_ask_for_another(sample: MirrorServer) -> None:
    rest, client = Reader.of(sample), GraphQL(sample)
    query = """{ place(id: "porto-tasca-ribeira", locale: "fr-FR") {
        title english: title(locale: "en-US") sys { locale }
        city { name sys { locale } }
        germanCity: city(locale: "de-DE") { name sys { locale } } } }"""
    place = client.data(query)["place"]
    french = rest.json("/entries/porto-tasca-ribeira", locale="fr-FR")
    english = rest.json("/entries/porto-tasca-ribeira", locale="en-US")
    assert place["title"] == french["fields"]["title"] == "Une tasca au-dessus de la Ribeira"
    assert place["english"] == english["fields"]["title"]
    assert place["city"] == {
        "name": rest.json("/entries/porto", locale="fr-FR")["fields"]["name"],
        "sys": {"locale": "fr-FR"},
    }
    german = rest.json("/entries/porto", locale="de-DE")["fields"]["name"]
    assert place["germanCity"] == {"name": german, "sys": {"locale": "de-DE"}}


def test_without_fallback_a_missing_translation_is_null(sample: MirrorServer) -> None:
    client = GraphQL(sample)
    query = """{ with: place(id: "hanoi-dong-xuan-market", locale: "de-DE") { title rating }
        without: place(id: "hanoi-dong-xuan-market", locale: "de-DE", useFallbackLocale: false) {
        title rating } }"""
    data = client.data(query)
    assert data["with"]["title"] == "Đồng Xuân market"  # en-US, along de-DE's fallback chain
    assert data["without"] == {"title": None, "rating": 4.0}  # rating is not localized


def test_an_unknown_locale_is_null_there_with_unknown_locale(sample: MirrorServer) -> None:
    client = GraphQL(sample)
    query = (
        '{ placeCollection(locale: "xx-XX", limit: 1) { total } '
        'city(id: "porto") { name(locale: "yy") country } }'
    )
    response = client.post(query)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"placeCollection": None, "city": {"name": None, "country": "Portugal"}}
    assert [error["path"] for error in body["errors"]] == [["placeCollection"], ["city", "name"]]
    for error in body["errors"]:
        assert error["extensions"]["contentful"]["code"] == "UNKNOWN_LOCALE"
        assert len(error["extensions"]["contentful"]["requestId"]) == 32
    assert body["errors"][0]["locations"] == [{"line": 1, "column": 3}]


# -- links, unions, linkedFrom, rich text ----------------------------------------------------


def test_links_resolve_at_any_depth_with_typenames(sample: MirrorServer) -> None:
    rest, client = Reader.of(sample), GraphQL(sample)
    query = """{ guide(id: "guide-river-cities") { author { name homeCity { __typename ... on City {
        name highlightsCollection(limit: 2) {
          items { title city { name heroImage { title } } } } } } }
        citiesCollection { total items { __typename sys { id } ... on City { name } } } } }"""
    guide = client.data(query)["guide"]
    author = rest.json(
        "/entries/" + rest.json("/entries/guide-river-cities")["fields"]["author"]["sys"]["id"]
    )
    home = author["fields"]["homeCity"]["sys"]["id"]
    assert guide["author"]["name"] == author["fields"]["name"]
    assert guide["author"]["homeCity"]["__typename"] == "City"
    assert guide["author"]["homeCity"]["name"] == rest.json(f"/entries/{home}")["fields"]["name"]
    for highlight in guide["author"]["homeCity"]["highlightsCollection"]["items"]:
        assert highlight["city"]["name"] == guide["author"]["homeCity"]["name"]
        assert highlight["city"]["heroImage"]["title"]
    cities = guide["citiesCollection"]
    saved = rest.json("/entries/guide-river-cities")["fields"]["cities"]
    assert [item["sys"]["id"] for item in cities["items"]] == [link["sys"]["id"] for link in saved]
    assert {item["__typename"] for item in cities["items"]} == {"City"} and cities["total"] == 4


def test_an_array_collection_pages_in_saved_order(sample: MirrorServer) -> None:
    client = GraphQL(sample)
    query = """{ guide(id: "guide-river-cities") { all: citiesCollection { items { sys { id } } }
        page: citiesCollection(skip: 1, limit: 2) { skip limit total items { sys { id } } } } }"""
    guide = client.data(query)["guide"]
    everything = [item["sys"]["id"] for item in guide["all"]["items"]]
    assert [item["sys"]["id"] for item in guide["page"]["items"]] == everything[1:3]
    assert (guide["page"]["skip"], guide["page"]["limit"], guide["page"]["total"]) == (1, 2, 4)


def test_linked_from_finds_the_entries_linking_here(sample: MirrorServer) -> None:
    rest, client = Reader.of(sample), GraphQL(sample)
    query = """{ city(id: "porto") { linkedFrom {
        placeCollection(order: sys_id_ASC) { total items { sys { id } } }
        guideCollection { total } entryCollection { total } } }
        asset(id: "porto-hero") { linkedFrom { cityCollection { items { sys { id } } } } } }"""
    data = client.data(query)
    linked = data["city"]["linkedFrom"]
    places = rest.json("/entries", content_type="place", links_to_entry="porto", order="sys.id")
    assert [i["sys"]["id"] for i in linked["placeCollection"]["items"]] == [
        i["sys"]["id"] for i in places["items"]
    ]
    assert linked["placeCollection"]["total"] == places["total"] > 0
    guides = rest.json("/entries", content_type="guide", links_to_entry="porto")
    authors = rest.json("/entries", content_type="author", links_to_entry="porto")
    assert linked["guideCollection"]["total"] == guides["total"] > 0
    assert (
        linked["entryCollection"]["total"] == places["total"] + guides["total"] + authors["total"]
    )
    cities = rest.json("/entries", content_type="city", links_to_asset="porto-hero")
    assert [i["sys"]["id"] for i in data["asset"]["linkedFrom"]["cityCollection"]["items"]] == [
        i["sys"]["id"] for i in cities["items"]
    ]


def _embedded(node: Any, node_type: str) -> list[str]:
    found = []
    if isinstance(node, dict):
        if node.get("nodeType") == node_type:
            found.append(node["data"]["target"]["sys"]["id"])
        for child in node.get("content") or []:
            found += _embedded(child, node_type)
    return list(dict.fromkeys(found))


def test_rich_text_has_its_json_and_links_an_unresolvable_one_null_with_its_error(
    sample: MirrorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    rest, client = Reader.of(sample), GraphQL(sample)
    query = """{ guide(id: "guide-lisbon-on-foot") { body { json links {
        entries { inline { __typename sys { id } } block { sys { id } } hyperlink { sys { id } } }
        assets { block { sys { id } } hyperlink { sys { id } } } } } } }"""
    response = client.post(query)
    assert response.status_code == 200
    body = response.json()
    stored = rest.json("/entries/guide-lisbon-on-foot")["fields"]["body"]
    text = body["data"]["guide"]["body"]
    assert text["json"] == stored
    entries, assets = text["links"]["entries"], text["links"]["assets"]
    for name, node_type in (
        ("inline", "embedded-entry-inline"),
        ("block", "embedded-entry-block"),
        ("hyperlink", "entry-hyperlink"),
    ):
        assert [item["sys"]["id"] for item in entries[name]] == _embedded(stored, node_type), name
    assert assets["block"] == [None]  # its asset was deleted in round 3
    assert _embedded(stored, "embedded-asset-block") == ["alfama-walk-route"]
    [error] = body["errors"]
    assert error["path"] == ["guide", "body", "links", "assets", "block", 0]
    assert error["message"] == (
        "Query execution error. Link from entry 'guide-lisbon-on-foot' to asset "
        "'alfama-walk-route' on field 'body' within type 'Guide' cannot be resolved"
    )
    contentful = error["extensions"]["contentful"]
    assert contentful["code"] == "UNRESOLVABLE_LINK"
    assert contentful["details"] == {
        "type": "Guide",
        "field": "body",
        "linkType": "Asset",
        "linkId": "alfama-walk-route",
        "linkingEntryId": "guide-lisbon-on-foot",
    }
    # Asked again, the answer is the one kept, naming the new request.
    monkeypatch.setattr(execution, "execute", None)  # not run again
    again = client.post(query)
    assert again.headers["X-Contentful-Request-Id"] != response.headers["X-Contentful-Request-Id"]
    [error_again] = again.json()["errors"]
    named = error_again["extensions"]["contentful"].pop("requestId")
    assert named == again.headers["X-Contentful-Request-Id"]
    del contentful["requestId"]
    assert again.json()["data"] == body["data"] and error_again == error


def test_a_page_of_links_costs_a_few_index_queries_not_one_per_link(
    sample: MirrorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries: list[str] = []
    original = index.RevisionIndex._query

    def counting(self: Any, sql: str, params: Any) -> Any:
        queries.append(sql)
        return original(self, sql, params)

    client = GraphQL(sample)
    query = """{ placeCollection(limit: 30) { items { sys { id } city { name heroImage { title }
        highlightsCollection(limit: 5) { items { photo { title } } } } photo { title } } } }"""
    client.data(query)  # the schema and the documents are built once, outside the count
    monkeypatch.setattr(index.RevisionIndex, "_query", counting)
    data = client.data(query)
    links = sum(
        1 + 1 + 1 + len(p["city"]["highlightsCollection"]["items"])
        for p in data["placeCollection"]["items"]
    )
    assert links > 100
    assert len(queries) <= 8, queries  # the page, then one per link field and level


def test_a_transformed_image_url_is_the_rest_url_with_images_api_parameters_and_loads(
    sample: MirrorServer,
) -> None:
    query = """{ city(id: "porto") { heroImage {
        small: url(transform: {width: 60, height: 40, resizeStrategy: FILL, format: WEBP})
        original: url } } }"""
    image = GraphQL(sample).data(query)["city"]["heroImage"]
    rest = Reader.of(sample).json("/entries", content_type="city", include=1, **{"sys.id": "porto"})
    stored = rest["includes"]["Asset"][0]["fields"]["file"]["url"]
    assert image["original"] == "http:" + stored
    assert image["small"] == f"http:{stored}?w=60&h=40&fit=fill&fm=webp"
    loaded = requests.get(image["small"], timeout=30)
    assert loaded.status_code == 200 and loaded.headers["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(loaded.content)).size == (60, 40)


def test_without_kept_items_every_answer_is_the_same(sample: MirrorServer) -> None:
    """`--cache-mb 0` keeps no parsed item between requests: answers are those of a
    server that keeps them (asked twice, so the second reads what the first kept)."""
    query = """{ guideCollection(order: sys_id_ASC) { items { title author { ... on Author {
        name homeCity { ... on City { name heroImage { url title } } } } }
        citiesCollection { items { ... on City { name } } } } }
      placeCollection(where: {category: "market"}, limit: 3, skip: 1) { total items {
        title city { name } } } }"""
    kept = GraphQL(sample)
    expected = [kept.data(query), kept.data(query)]
    rest = Reader.of(sample).json("/entries", content_type="place", include=2, limit=5)
    with serving(sample.config.directory, cache_bytes=0) as bare:
        plain = GraphQL(bare)

        def same(mine: Any, theirs: Any) -> None:  # file URLs name each server's port
            here, there = f"127.0.0.1:{bare.port}", f"127.0.0.1:{sample.port}"
            assert json.dumps(mine).replace(here, there) == json.dumps(theirs)

        same([plain.data(query), plain.data(query)], expected)
        same(Reader.of(bare).json("/entries", content_type="place", include=2, limit=5), rest)
    assert expected[0]["guideCollection"]["items"] and expected[0]["placeCollection"]["total"]


@pytest.mark.parametrize(
    ("content_type", "field", "value"),
    [
        ("place", "category", "market"),
        ("place", "title", "Bolhão market"),  # localized: German "Markt Bolhão"
        ("place", "rating", "4.6"),
        ("place", "rating", "4.60"),
        ("place", "priceLevel", "0"),
        ("place", "freeEntry", "true"),
        ("place", "city.sys.id", "porto"),
        ("city", "tags", "river"),
        ("guide", "offlineReady", "false"),
    ],
)
def test_a_page_read_from_the_index_alone_is_the_full_scans(
    sample: MirrorServer, content_type: str, field: str, value: str
) -> None:
    """`fields.F=v` is answered from the index (count and page in SQL); `fields.F[in]=v`
    selects the same entries by reading and testing every candidate."""
    rest = Reader.of(sample)
    totals: list[int] = []
    for locale, skip, limit in (("en-US", 0, 100), ("en-US", 1, 2), ("de-DE", 0, 100)):
        common = {"content_type": content_type, "locale": locale, "skip": skip, "limit": limit}
        indexed = rest.json("/entries", **common, **{f"fields.{field}": value})
        scanned = rest.json("/entries", **common, **{f"fields.{field}[in]": value})
        assert indexed["total"] == scanned["total"]
        assert [i["sys"]["id"] for i in indexed["items"]] == [
            i["sys"]["id"] for i in scanned["items"]
        ]
        totals.append(indexed["total"])
    assert totals[0] > 0  # the value is there in the default locale
