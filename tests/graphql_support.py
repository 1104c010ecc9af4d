"""Helpers of the GraphQL tests: a client of `mirror serve DIR`'s GraphQL endpoint, the
recorded content models of ../shared/conformance/graphql, and emulator space folders
holding one of them with content of our own, for mirrors to sync and serve.

Every content type gets three entries (the first with slug `example-slug`, as the sites'
variables ask) whose fields all hold values: links to entries of the types their
validation names, arrays of two links, rich text embedding an entry and an asset and
linking to an entry. The reconstructed models have lost their size validations; real
spaces have them, and the sites' queries stay under the complexity limit only with
them, so arrays get `size.max` 2 and rich text link nodes `size.max` 2 here."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path
from typing import Any

import requests
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    print_ast,
)
from graphql.utilities.get_default_value_ast import get_default_value_ast

from mirror.delivery.server import MirrorServer
from mirror.emulator import Emulator, EmulatorConfig
from mirror.wire import link
from tests.conftest import shared_data, sync_json

REPO = Path(__file__).resolve().parent.parent
PICTURE = REPO / "sample_space" / "files" / "author-kenji.png"
ENTRIES_PER_TYPE = 3
ARRAY_SIZE = 2
RICH_LINK_SIZE = 2
_LINK_NODES = (
    "embedded-entry-block",
    "embedded-entry-inline",
    "entry-hyperlink",
    "embedded-asset-block",
    "asset-hyperlink",
)
LOCALES = [
    {"code": "en-US", "name": "English", "default": True, "fallbackCode": None},
    {"code": "de-DE", "name": "German", "default": False, "fallbackCode": "en-US"},
]


# Five marketing fields are unions with one member where the model would give `Page`:
# their validation named content types since deleted (conformance README, rule 5).
DELETED_TYPE = "pageVariantRemoved"
AMBIGUOUS = {
    ("componentCta", "targetPage"),
    ("componentDuplex", "targetPage"),
    ("componentHeroBanner", "targetPage"),
    ("menuGroup", "groupLink"),
    ("menuGroup", "featuredPages"),
}


class GraphQL:
    """A client of one server's GraphQL endpoint."""

    def __init__(self, server: MirrorServer, token: str | None = None, path: str = "") -> None:
        facts = server.facts()
        self.url = path or (
            f"{server.base_url}/content/v1/spaces/{facts['space']}"
            f"/environments/{facts['environment']}"
        )
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def post(
        self, query: str, variables: dict[str, Any] | None = None, **more: Any
    ) -> requests.Response:
        body = {"query": query, "variables": variables or {}, **more}
        return self.session.post(self.url, json=body, timeout=60)

    def get(self, **params: Any) -> requests.Response:
        return self.session.get(self.url, params=params, timeout=60)

    def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """The data of an answer that must have no errors."""
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]


def conformance(name: str) -> Any:
    path: Path = shared_data("conformance/graphql") / name
    return json.loads(path.read_text(encoding="utf-8"))


def content_model(space: str) -> tuple[str, list[dict[str, Any]]]:
    """A recorded space's content types, the five ambiguous links given a deleted type."""
    data = conformance(f"content-types-{space}.json")
    items = copy.deepcopy(data["items"])
    for item in items:
        for field in item["fields"]:
            if (item["sys"]["id"], field["id"]) in AMBIGUOUS:
                holder = field["items"] if field["type"] == "Array" else field
                holder["validations"][0]["linkContentType"].append(DELETED_TYPE)
    return data["reconstruction"]["space_id"], items


def conformance_mirror(tmp: Path, space: str) -> Path:
    """A mirror synced from an emulator serving a recorded model with our content."""
    space_id, content_types = content_model(space)
    folder, directory = tmp / "space", tmp / "mirror"
    write_space(folder, space_id, content_types)
    with Emulator(EmulatorConfig(space_dir=folder)) as emulator:
        sync_json(emulator, directory)
    return directory


def operation_variables(operation: dict[str, Any], space: str) -> dict[str, Any]:
    """A recorded operation's example variables; an `id` names an entry of the type it
    asks for (an entry id is taken once in a space: "example-id" cannot serve them all)."""
    variables = dict(operation["variables_example"])
    match = re.search(r"(\w+)\(id: \$id", operation["document"])
    if "id" in variables and match:
        _, content_types = content_model(space)
        wanted = match.group(1).lower()
        found = (ct["sys"]["id"] for ct in content_types if ct["sys"]["id"].lower() == wanted)
        variables["id"] = entry_id(next(found), 0)
    return variables


def entry_id(content_type: str, index: int) -> str:
    return f"{content_type}-{index}"


def write_space(folder: Path, space_id: str, content_types: list[dict[str, Any]]) -> None:
    """An emulator space folder (see sample_space/README.md) for the model."""
    for sub in ("content_types", "entries", "assets", "files", "rounds"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    meta = {
        "id": space_id,
        "name": space_id,
        "environment": "master",
        "accessToken": "delivery-token",
        "managementToken": "management-token",
        "startsAt": "2024-10-07T11:00:00.000Z",
    }
    _write(folder / "space.json", meta)
    _write(folder / "locales.json", LOCALES)
    shutil.copyfile(PICTURE, folder / "files" / "picture.png")
    for number in range(2):
        asset = {
            "title": {"en-US": f"Picture {number}"},
            "file": {"en-US": {"path": "files/picture.png"}},
        }
        _write(folder / "assets" / f"picture-{number}.json", {"fields": asset})
    known = [ct["sys"]["id"] for ct in content_types]
    for item in content_types:
        _write(folder / "content_types" / f"{item['sys']['id']}.json", _with_sizes(item))
        for index in range(ENTRIES_PER_TYPE):
            fields = _fields(item, index, known)
            path = (
                folder
                / "entries"
                / item["sys"]["id"]
                / f"{entry_id(item['sys']['id'], index)}.json"
            )
            path.parent.mkdir(exist_ok=True)
            _write(path, {"fields": fields})


def _write(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _with_sizes(item: dict[str, Any]) -> dict[str, Any]:
    fields = []
    for field in item["fields"]:
        field = dict(field)
        if field["type"] == "Array":
            field["validations"] = [{"size": {"max": ARRAY_SIZE}}]
        if field["type"] == "RichText":
            sized = [{"size": {"max": RICH_LINK_SIZE}}]
            field["validations"] = [{"nodes": {node: sized for node in _LINK_NODES}}]
        fields.append(field)
    kept = {key: item[key] for key in ("name", "description", "displayField") if key in item}
    return {**kept, "fields": fields}


def _target(field: dict[str, Any], known: list[str], index: int) -> str:
    holder = field.get("items") if field["type"] == "Array" else field
    for validation in (holder or {}).get("validations") or []:
        named = [t for t in validation.get("linkContentType") or [] if t in known]
        if named:
            return entry_id(named[index % len(named)], index % ENTRIES_PER_TYPE)
    return entry_id(known[0], index % ENTRIES_PER_TYPE)


def _fields(item: dict[str, Any], index: int, known: list[str]) -> dict[str, Any]:
    content_type = item["sys"]["id"]
    values = {}
    for field in item["fields"]:
        value = _value(field, content_type, index, known)
        if value is not None:
            values[field["id"]] = {"en-US": value}
    return values


def _value(field: dict[str, Any], content_type: str, index: int, known: list[str]) -> Any:
    name, kind = field["id"], field["type"]
    simple: dict[str, Any] = {
        "Symbol": ("example-slug" if index == 0 else f"{content_type}-{index}")
        if name == "slug"
        else f"{name} of {content_type} {index}",
        "Text": f"A longer {name} text of {content_type} number {index}.",
        "Integer": index + 1,
        "Number": index + 0.5,
        "Boolean": index % 2 == 0,
        "Date": f"2024-0{index + 1}-15T10:00:00.000Z",
        "Location": {"lat": 52.5 + index, "lon": 13.4},
        "Object": {"index": index},
    }
    if kind in simple:
        return simple[kind]
    if kind == "RichText":
        return _document(content_type, index, known)
    if kind == "Link":
        if field.get("linkType") == "Asset":
            return link("Asset", f"picture-{index % 2}")
        return link("Entry", _target(field, known, index + 1))
    if kind == "Array":
        items = field.get("items") or {}
        if items.get("type") == "Symbol":
            return ["one", "two"]
        if items.get("linkType") == "Asset":
            return [link("Asset", "picture-0"), link("Asset", "picture-1")]
        return [link("Entry", _target(field, known, index + step)) for step in (1, 2)]
    return None


def _document(content_type: str, index: int, known: list[str]) -> dict[str, Any]:
    def text(value: str) -> dict[str, Any]:
        return {"nodeType": "text", "value": value, "marks": [], "data": {}}

    embedded = entry_id(known[(index + 1) % len(known)], index % ENTRIES_PER_TYPE)
    linked = entry_id(known[index % len(known)], (index + 1) % ENTRIES_PER_TYPE)
    hyperlink = {
        "nodeType": "entry-hyperlink",
        "data": {"target": link("Entry", linked)},
        "content": [text("see")],
    }
    return {
        "nodeType": "document",
        "data": {},
        "content": [
            {
                "nodeType": "paragraph",
                "data": {},
                "content": [text(f"About {content_type} {index} "), hyperlink],
            },
            {
                "nodeType": "embedded-entry-block",
                "data": {"target": link("Entry", embedded)},
                "content": [],
            },
            {
                "nodeType": "embedded-asset-block",
                "data": {"target": link("Asset", "picture-0")},
                "content": [],
            },
        ],
    }


# -- comparing schemas ----------------------------------------------------------------


def differences(theirs: GraphQLSchema, ours: GraphQLSchema) -> list[str]:
    """What of `theirs` `ours` lacks or has otherwise (ours may have more)."""
    found: list[str] = []
    for name, recorded_type in theirs.type_map.items():
        if name.startswith("__"):
            continue
        mine = ours.type_map.get(name)
        if mine is None or type(mine) is not type(recorded_type):
            found.append(f"type {name}: {type(recorded_type).__name__} missing")
            continue
        found += _type_differences(name, recorded_type, mine)
    return found


def _type_differences(name: str, theirs: Any, mine: Any) -> list[str]:
    found: list[str] = []
    if isinstance(theirs, (GraphQLObjectType, GraphQLInterfaceType)):
        for field_name, field in theirs.fields.items():
            other = mine.fields.get(field_name)
            if other is None or str(other.type) != str(field.type):
                found.append(f"{name}.{field_name}: {field.type} vs {other and other.type}")
                continue
            for arg_name, arg in field.args.items():
                own = other.args.get(arg_name)
                same = own is not None and (str(own.type), _default(own)) == (
                    str(arg.type),
                    _default(arg),
                )
                if not same:
                    found.append(f"{name}.{field_name}({arg_name}: {arg.type})")
        theirs_interfaces = {i.name for i in theirs.interfaces}
        if not theirs_interfaces <= {i.name for i in mine.interfaces}:
            found.append(f"{name} implements {sorted(theirs_interfaces)}")
    elif isinstance(theirs, GraphQLInputObjectType):
        for field_name, field in theirs.fields.items():
            other = mine.fields.get(field_name)
            if other is None or str(other.type) != str(field.type):
                found.append(f"input {name}.{field_name}: {field.type}")
    elif isinstance(theirs, GraphQLEnumType):
        missing = set(theirs.values) - set(mine.values)
        found += [f"enum {name}.{value}" for value in sorted(missing)]
    elif isinstance(theirs, GraphQLUnionType) and {t.name for t in theirs.types} != {
        t.name for t in mine.types
    }:
        found.append(f"union {name}")
    return found


def _default(argument: Any) -> str | None:
    """An argument's default as GraphQL prints it (`100`), or None."""
    value = get_default_value_ast(argument)
    return print_ast(value) if value is not None else None
