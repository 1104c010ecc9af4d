"""The Delivery engine on a small made-up space: what the recorded exchanges do not
show (ranges, [nin] on missing fields, radius search, fallback chains, include
depth and notResolvable, select and paging errors, the size cap, the index path)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

import pytest

from mirror.delivery.content import Item, MemoryContent
from mirror.delivery.engine import Answer, DeliveryEngine

SPACE, ENV = "space1", "master"


def _sys(kind: str, item_id: str, updated: str, content_type: str | None = None) -> Item:
    sys: Item = {
        "space": {"sys": {"type": "Link", "linkType": "Space", "id": SPACE}},
        "id": item_id,
        "type": kind,
        "createdAt": "2020-01-01T00:00:00.000Z",
        "updatedAt": updated,
        "environment": {"sys": {"id": ENV, "type": "Link", "linkType": "Environment"}},
        "revision": 1,
    }
    if content_type:
        sys["contentType"] = {
            "sys": {"type": "Link", "linkType": "ContentType", "id": content_type}
        }
    return sys


def _link(kind: str, item_id: str) -> Item:
    return {"sys": {"type": "Link", "linkType": kind, "id": item_id}}


def _field(field_id: str, kind: str, localized: bool = False, **more: Any) -> Item:
    return {"id": field_id, "name": field_id, "type": kind, "localized": localized, **more}


LOCALES = [
    {"code": "en-US", "name": "English", "default": True, "fallbackCode": None},
    {"code": "de", "name": "German", "default": False, "fallbackCode": "en-US"},
    {"code": "de-CH", "name": "Swiss German", "default": False, "fallbackCode": "de"},
]
BOOK = {
    "sys": {"id": "book", "type": "ContentType", "updatedAt": "2020-01-01T00:00:00.000Z"},
    "name": "Book",
    "fields": [
        _field("title", "Symbol", localized=True),
        _field("pages", "Integer"),
        _field("published", "Date"),
        _field("tags", "Array", items={"type": "Symbol"}),
        _field("author", "Link", linkType="Entry"),
        _field("cover", "Link", linkType="Asset"),
        _field("place", "Location"),
        _field("secret", "Symbol", omitted=True),
        _field("blurb", "Text"),
    ],
}
PERSON = {
    "sys": {"id": "person", "type": "ContentType", "updatedAt": "2020-01-02T00:00:00.000Z"},
    "name": "Person",
    "fields": [
        _field("name", "Symbol"),
        _field("friend", "Link", linkType="Entry"),
        _field("photo", "Link", linkType="Asset"),
    ],
}


def _book(book_id: str, updated: str, **fields: Any) -> Item:
    return {
        "sys": _sys("Entry", book_id, updated, "book"),
        "fields": {name: {"en-US": value} for name, value in fields.items()},
    }


def _person(person_id: str, name: str, friend: str | None, photo: str | None) -> Item:
    fields: Item = {"name": {"en-US": name}}
    if friend:
        fields["friend"] = {"en-US": _link("Entry", friend)}
    if photo:
        fields["photo"] = {"en-US": _link("Asset", photo)}
    return {"sys": _sys("Entry", person_id, "2019-01-01T00:00:00.000Z", "person"), "fields": fields}


def _asset(asset_id: str, content_type: str) -> Item:
    file = {"url": f"//images.ctfassets.net/{SPACE}/{asset_id}/x/f", "contentType": content_type}
    return {
        "sys": _sys("Asset", asset_id, "2019-01-01T00:00:00.000Z"),
        "fields": {"title": {"en-US": asset_id}, "file": {"en-US": file}},
    }


def _items() -> list[Item]:
    dune = _book(
        "dune",
        "2021-03-01T00:00:00.000Z",
        pages=412,
        published="1965-08-01",
        tags=["scifi", "desert"],
        author=_link("Entry", "herbert"),
        cover=_link("Asset", "sand"),
        place={"lat": 52.52, "lon": 13.40},
        secret="hidden",
        blurb="Spice must flow",
    )
    dune["fields"]["title"] = {"en-US": "Dune", "de": "Der Wüstenplanet"}
    dune["metadata"] = {"tags": [_link("Tag", "classic")]}
    emma = _book(
        "emma",
        "2021-02-01T00:00:00.000Z",
        title="Emma",
        pages=300,
        published="1815-12-23T00:00:00+01:00",
        tags=["romance"],
        place={"lat": 48.85, "lon": 2.35},
        author=_link("Entry", "ghost"),
    )
    emma["metadata"] = {"tags": []}
    note = _book("note", "2021-01-01T00:00:00.000Z", title="Untitled note")
    note["metadata"] = {"tags": []}
    note["fields"]["removed"] = {"en-US": "a field the content type no longer has"}
    return [
        dune,
        emma,
        note,
        _person("herbert", "Frank Herbert", friend="asimov", photo="portrait"),
        _person("asimov", "Isaac Asimov", friend="clarke", photo="pipe"),
        _person("clarke", "Arthur Clarke", friend=None, photo=None),
        _asset("sand", "image/png"),
        _asset("portrait", "image/jpeg"),
        _asset("pipe", "application/pdf"),
    ]


class _Indexed(MemoryContent):
    """MemoryContent with the optional fast path, recording its calls."""

    calls: list[tuple[str, dict[str, str], list[str]]]

    def find_entries(
        self, content_type: str, equalities: dict[str, str], locale_codes: list[str]
    ) -> Iterable[Item] | None:
        self.calls.append((content_type, equalities, locale_codes))
        return [entry for entry in self.entries(content_type) if entry["sys"]["id"] != "emma"]


def _content(cls: type[MemoryContent] = MemoryContent) -> MemoryContent:
    return cls(
        SPACE,
        ENV,
        LOCALES,
        [BOOK, PERSON],
        _items(),
        [
            {
                "name": "Classic",
                "sys": {"id": "classic", "type": "Tag", "updatedAt": "2020-01-01T00:00:00.000Z"},
            }
        ],
    )


@pytest.fixture
def engine() -> DeliveryEngine:
    return DeliveryEngine(_content())


def ask(engine: DeliveryEngine, resource: str, query: str = "") -> Answer:
    return engine.answer(resource, parse_qsl(query, keep_blank_values=True))


def ids(answer: Answer) -> list[str]:
    assert answer.status == 200, answer.body
    return [item["sys"]["id"] for item in answer.body["items"]]


def books(engine: DeliveryEngine, query: str) -> list[str]:
    return ids(ask(engine, "/entries", f"content_type=book&{query}"))


def error(answer: Answer) -> tuple[int, str]:
    assert answer.body["sys"]["type"] == "Error"
    assert answer.body["requestId"]
    return answer.status, answer.body["sys"]["id"]


# -- ranges and operators the recordings do not show -------------------------------------


def test_number_ranges(engine: DeliveryEngine) -> None:
    assert books(engine, "fields.pages[gt]=300") == ["dune"]
    assert books(engine, "fields.pages[gte]=300") == ["dune", "emma"]
    assert books(engine, "fields.pages[lt]=412") == ["emma"]
    assert books(engine, "fields.pages[lte]=412&fields.pages[gt]=0") == ["dune", "emma"]


def test_date_ranges_compare_instants_whatever_the_spelling(engine: DeliveryEngine) -> None:
    # emma's date is 1815-12-23T00:00+01:00, i.e. 1815-12-22T23:00Z.
    assert books(engine, "fields.published[lt]=1815-12-22T23:30:00Z") == ["emma"]
    assert books(engine, "fields.published[gte]=1815-12-23") == ["dune"]
    assert books(engine, "fields.published[gt]=1965-07-31T21:00:00.000-02:00") == ["dune"]
    assert books(engine, "sys.updatedAt[gte]=2021-02-01T00:00:00%2B00:00") == ["dune", "emma"]


def test_ne_and_nin_let_entries_without_the_field_pass(engine: DeliveryEngine) -> None:
    assert books(engine, "fields.tags[nin]=scifi") == ["emma", "note"]
    assert books(engine, "fields.tags[ne]=romance") == ["dune", "note"]
    assert books(engine, "fields.pages[exists]=false") == ["note"]


def test_array_equality_in_and_all(engine: DeliveryEngine) -> None:
    assert books(engine, "fields.tags=desert") == ["dune"]
    assert books(engine, "fields.tags[in]=desert,romance") == ["dune", "emma"]
    assert books(engine, "fields.tags[all]=scifi,romance") == []


def test_within_a_radius_and_a_box(engine: DeliveryEngine) -> None:
    # Berlin to Potsdam is about 27 km; Paris is 880 km away.
    assert books(engine, "fields.place[within]=52.39,13.06,30") == ["dune"]
    assert books(engine, "fields.place[within]=52.39,13.06,20") == []
    assert books(engine, "fields.place[within]=40,0,50,5") == ["emma"]


def test_near_sorts_by_distance_and_filters_nothing(engine: DeliveryEngine) -> None:
    assert books(engine, "fields.place[near]=48,2") == ["emma", "dune", "note"]
    assert books(engine, "fields.place[near]=52,13") == ["dune", "emma", "note"]


def test_match_is_on_whole_words_and_query_searches_every_text_field(
    engine: DeliveryEngine,
) -> None:
    assert books(engine, "fields.blurb[match]=SPICE flow") == ["dune"]
    assert books(engine, "fields.blurb[match]=spi") == []
    assert ids(ask(engine, "/entries", "query=herbert")) == ["herbert"]


def test_links_to_and_link_ids(engine: DeliveryEngine) -> None:
    assert ids(ask(engine, "/entries", "links_to_entry=asimov")) == ["herbert"]
    assert ids(ask(engine, "/entries", "links_to_asset=sand")) == ["dune"]
    assert books(engine, "fields.author.sys.id=herbert") == ["dune"]


def test_search_on_references(engine: DeliveryEngine) -> None:
    query = "fields.author.sys.contentType.sys.id=person&fields.author.fields.name[match]=frank"
    assert books(engine, query) == ["dune"]
    answer = ask(engine, "/entries", "content_type=book&fields.author.fields.name=x")
    assert error(answer) == (400, "BadRequest")
    assert answer.body["message"].startswith("When searching on references")


def test_tags_and_mimetype_groups(engine: DeliveryEngine) -> None:
    assert books(engine, "metadata.tags.sys.id[in]=classic") == ["dune"]
    assert books(engine, "metadata.tags[exists]=false") == ["emma", "note"]
    assert ids(ask(engine, "/assets", "mimetype_group=pdfdocument")) == ["pipe"]
    assert sorted(ids(ask(engine, "/assets", "mimetype_group=image"))) == ["portrait", "sand"]


# -- order, paging, errors -----------------------------------------------------------------


def test_default_and_explicit_order(engine: DeliveryEngine) -> None:
    assert books(engine, "") == ["dune", "emma", "note"]
    assert books(engine, "order=fields.pages") == ["emma", "dune", "note"]
    assert books(engine, "order=-fields.pages") == ["note", "dune", "emma"]
    assert books(engine, "order=sys.createdAt,-sys.id") == ["note", "emma", "dune"]


def test_total_counts_before_the_page(engine: DeliveryEngine) -> None:
    body = ask(engine, "/entries", "content_type=book&skip=1&limit=1").body
    assert (body["total"], body["skip"], body["limit"]) == (3, 1, 1)
    assert [item["sys"]["id"] for item in body["items"]] == ["emma"]


@pytest.mark.parametrize(
    "query",
    ["limit=1001", "limit=-1", "limit=x", "skip=-1", "include=11", "include=-1", "order=-"],
)
def test_bad_paging_and_include_are_invalid_queries(engine: DeliveryEngine, query: str) -> None:
    assert error(ask(engine, "/entries", query)) == (400, "InvalidQuery")


def test_field_queries_need_a_known_content_type(engine: DeliveryEngine) -> None:
    assert error(ask(engine, "/entries", "fields.pages=1")) == (400, "BadRequest")
    answer = ask(engine, "/entries", "content_type=nope")
    assert error(answer) == (400, "InvalidQuery")
    assert answer.body["details"] == {"errors": [{"name": "unknownContentType", "value": "nope"}]}
    unknown = ask(engine, "/entries", "content_type=book&fields.nope=1")
    assert unknown.body["details"]["errors"][0]["path"] == ["fields", "nope"]


def test_operators_that_do_not_fit_the_field(engine: DeliveryEngine) -> None:
    for query in (
        "fields.title[lt]=x",
        "fields.pages=many",
        "fields.place=1",
        "order=fields.blurb",
    ):
        assert error(ask(engine, "/entries", f"content_type=book&{query}")) == (400, "InvalidQuery")


def test_select_errors_and_shapes(engine: DeliveryEngine) -> None:
    assert error(ask(engine, "/entries", "select=fields.title.en-US&content_type=book")) == (
        400,
        "InvalidQuery",
    )
    assert error(ask(engine, "/entries", "select=nothing")) == (400, "InvalidQuery")
    assert error(ask(engine, "/entries", "select=fields.title")) == (400, "BadRequest")
    item = ask(engine, "/entries", "content_type=book&sys.id=dune&select=sys.id,fields.pages")
    assert item.body["items"] == [
        {"sys": {"id": "dune", "locale": "en-US"}, "fields": {"pages": 412}}
    ]
    with_metadata = ask(engine, "/entries", "sys.id=dune&select=sys,metadata")
    assert set(with_metadata.body["items"][0]) == {"sys", "metadata"}


def test_unknown_locale_and_missing_resources(engine: DeliveryEngine) -> None:
    answer = ask(engine, "/entries", "locale=xx")
    assert error(answer) == (400, "BadRequest")
    assert answer.body["message"] == "Unknown locale: xx"
    missing = ask(engine, "/assets/none")
    assert error(missing) == (404, "NotFound")
    assert missing.body["details"] == {
        "type": "Asset",
        "id": "none",
        "environment": ENV,
        "space": SPACE,
    }
    assert error(ask(engine, "/content_types/none")) == (404, "NotFound")
    assert error(ask(engine, "/nothing")) == (404, "NotFound")


# -- locales and delivered fields ----------------------------------------------------------


def test_fallback_chain_of_two_steps_and_non_localized_fields(engine: DeliveryEngine) -> None:
    dune = ask(engine, "/entries/dune", "locale=de-CH").body
    assert dune["sys"]["locale"] == "de-CH"
    assert dune["fields"]["title"] == "Der Wüstenplanet"  # de-CH → de
    assert dune["fields"]["pages"] == 412  # not localized: en-US
    emma = ask(engine, "/entries/emma", "locale=de-CH").body
    assert emma["fields"]["title"] == "Emma"  # de-CH → de → en-US


def test_omitted_and_removed_fields_are_not_delivered(engine: DeliveryEngine) -> None:
    assert "secret" not in ask(engine, "/entries/dune").body["fields"]
    assert "secret" not in ask(engine, "/entries/dune", "locale=*").body["fields"]
    assert "removed" not in ask(engine, "/entries/note").body["fields"]


def test_all_locales(engine: DeliveryEngine) -> None:
    dune = ask(engine, "/entries/dune", "locale=*").body
    assert "locale" not in dune["sys"]
    assert dune["fields"]["title"] == {"en-US": "Dune", "de": "Der Wüstenplanet"}


# -- includes --------------------------------------------------------------------------------


def _included(answer: Answer) -> dict[str, list[str]]:
    includes = answer.body.get("includes", {})
    return {kind: sorted(item["sys"]["id"] for item in items) for kind, items in includes.items()}


def test_assets_come_one_level_deeper_than_entries(engine: DeliveryEngine) -> None:
    one = ask(engine, "/entries", "sys.id=dune")
    assert _included(one) == {"Entry": ["herbert"], "Asset": ["portrait", "sand"]}
    two = ask(engine, "/entries", "sys.id=dune&include=2")
    assert _included(two) == {"Entry": ["asimov", "herbert"], "Asset": ["pipe", "portrait", "sand"]}
    assert "includes" not in ask(engine, "/entries", "sys.id=dune&include=0").body


def test_included_items_are_localized_and_never_repeat_items(engine: DeliveryEngine) -> None:
    answer = ask(engine, "/entries", "content_type=person&include=3&locale=de")
    assert _included(answer) == {"Asset": ["pipe", "portrait"]}
    dune = ask(engine, "/entries", "sys.id=dune&locale=de")
    assert all(item["sys"]["locale"] == "de" for item in dune.body["includes"]["Entry"])


def test_a_link_the_content_lacks_is_not_resolvable(engine: DeliveryEngine) -> None:
    answer = ask(engine, "/entries", "sys.id=emma")
    assert answer.body["errors"] == [
        {
            "sys": {"id": "notResolvable", "type": "error"},
            "details": {"type": "Link", "linkType": "Entry", "id": "ghost"},
        }
    ]
    assert "includes" not in answer.body


def test_select_chooses_which_links_are_followed_not_what_includes_hold(
    engine: DeliveryEngine,
) -> None:
    answer = ask(engine, "/entries", "content_type=book&sys.id=dune&select=sys,fields.cover")
    assert _included(answer) == {"Asset": ["sand"]}
    assert set(answer.body["includes"]["Asset"][0]["fields"]) == {"title", "file"}


def test_response_size_cap(monkeypatch: pytest.MonkeyPatch, engine: DeliveryEngine) -> None:
    monkeypatch.setattr("mirror.delivery.engine.MAX_RESPONSE_BYTES", 500)
    answer = ask(engine, "/entries")
    assert error(answer) == (400, "BadRequest")
    assert answer.body["message"] == "Response size too big. Maximum allowed response size: 500b."


# -- other resources and the fast path -------------------------------------------------------


def test_locales_content_types_tags_and_space(engine: DeliveryEngine) -> None:
    locales = ask(engine, "/locales").body
    assert (locales["total"], locales["limit"]) == (3, 1000)
    assert ids(ask(engine, "/content_types", "order=sys.id")) == ["book", "person"]
    assert ids(ask(engine, "/content_types", "name=Person")) == ["person"]
    assert ids(ask(engine, "/tags")) == ["classic"]
    assert ask(engine, "/tags/classic").body["name"] == "Classic"
    assert engine.space()["sys"] == {"type": "Space", "id": SPACE}
    assert error(ask(engine, "/content_types", "fields.x=1")) == (400, "InvalidQuery")


def test_the_index_fast_path_is_asked_and_checked_again() -> None:
    content = _content(_Indexed)
    assert isinstance(content, _Indexed)
    content.calls = []
    engine = DeliveryEngine(content)
    assert books(engine, "fields.tags=scifi&fields.author.sys.id=herbert") == ["dune"]
    assert content.calls == [("book", {"tags": "scifi", "author.sys.id": "herbert"}, ["en-US"])]
    # The index's candidates are filtered again: note is a candidate but does not match.
    assert books(engine, "fields.pages=300") == []
