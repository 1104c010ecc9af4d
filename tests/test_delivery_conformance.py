"""Every recorded Delivery API exchange in ../shared/conformance/delivery, answered by
the DeliveryEngine over a MemoryContent built from the space file, gives what
Contentful answered: status, total/skip/limit, items (in order where the recording
fixes it, else as a set), includes (as sets per type), errors (as a set), item
bodies, and the error's sys, message and details.

What is ignored, and why (nothing else):
- `requestId`: Contentful's own per request.
- Asset file URL hosts: recordings before 2018-11 say `images.contentful.com`, the
  space files (and later recordings) `images.ctfassets.net`; same files, older host.
  Only the `//host/` prefix of `fields.file.url` is compared loosely.
- `environment` (in an item's `sys`, and in a NotFound's `details`) when the recording
  lacks it and was made before 2018-04: Contentful added environments then; every
  later recording carries it, and the stored items do.
- `metadata: {"tags": []}` in a recording whose stored item has no `metadata`:
  cfexampleapi's items come from a 2018 sync made before metadata existed, while
  answers recorded in 2021 carry empty tags.
- Repetitions in `errors`: one 2018 answer (jd7yc4wnatx3-003) repeats the same
  notResolvable error 72 times; the engine lists each unresolvable target once.

Not the engine's to answer (skipped, naming why): `/sync` exchanges (the sync
endpoint is served by the emulator's sync and the mirror's own sync tokens) and the
two exchanges sent with a wrong access token (authentication is the HTTP layer's)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mirror.delivery.content import MemoryContent
from mirror.delivery.engine import DeliveryEngine
from tests.conftest import SHARED, shared_data

FOLDER = "conformance/delivery"
_PATH = re.compile(r"^/spaces/[^/]+(?:/environments/[^/]+)?(?P<resource>/.*)?$")
_HOST = re.compile(r"^//[^/]+/")
_ENVIRONMENTS_SINCE = "2018-04"


def _exchange_ids() -> list[str]:
    """Ids of every exchange, read at collection time (none when the folder is absent:
    the placeholder test below then skips or fails through shared_data)."""
    ids: list[str] = []
    for path in sorted((SHARED / FOLDER).glob("exchanges-*.json")):
        ids += [e["id"] for e in json.loads(path.read_text(encoding="utf-8"))["exchanges"]]
    return ids or ["shared-data-absent"]


Stored = dict[tuple[str, str], dict[str, Any]]
_CACHE: dict[str, tuple[dict[str, Any], DeliveryEngine, Stored]] = {}


def _load(exchange_id: str) -> tuple[dict[str, Any], DeliveryEngine, Stored]:
    """(exchange, engine over its space, stored items by (type, id))."""
    if exchange_id not in _CACHE:
        folder = shared_data(FOLDER)
        for path in sorted(folder.glob("exchanges-*.json")):
            _index(path, folder)
    if exchange_id not in _CACHE:
        pytest.fail(f"no exchange {exchange_id}")
    return _CACHE[exchange_id]


def _index(path: Path, folder: Path) -> None:
    exchanges = json.loads(path.read_text(encoding="utf-8"))
    version = path.stem.removeprefix("exchanges-")
    space = json.loads((folder / f"space-{version}.json").read_text(encoding="utf-8"))
    content = MemoryContent(
        space_id=space["space"],
        environment=space["environment"],
        locale_items=space["locales"],
        content_type_items=space["content_types"],
        items=space["items"],
    )
    engine = DeliveryEngine(content)
    stored: Stored = {(i["sys"]["type"], i["sys"]["id"]): i for i in space["items"]}
    for exchange in exchanges["exchanges"]:
        _CACHE[exchange["id"]] = (exchange, engine, stored)


@pytest.mark.parametrize("exchange_id", _exchange_ids())
def test_recorded_exchange(exchange_id: str) -> None:
    exchange, engine, stored = _load(exchange_id)
    request = exchange["request"]
    resource = _PATH.match(request["path"])
    assert resource is not None, request["path"]
    if request["auth"] != "valid":
        pytest.skip("a wrong access token: authentication is the HTTP layer's, not the engine's")
    if (resource["resource"] or "").rstrip("/").endswith("/sync"):
        pytest.skip("/sync is served by the sync endpoint, not the Delivery engine")
    answer = engine.answer(resource["resource"] or "", [tuple(p) for p in request["query"]])
    recorded = exchange["response"]
    assert answer.status == exchange["status"], answer.body
    early = exchange["provenance"]["recorded_at"] < _ENVIRONMENTS_SINCE
    if answer.status != 200:
        _compare_error(answer.body, recorded, early)
    elif recorded.get("sys", {}).get("type") == "Array":
        _compare_collection(answer.body, recorded, exchange["order_significant"], early, stored)
    else:
        ours = _normal(answer.body, recorded, early, stored)
        assert ours == _normal(recorded, None, early, stored)


def _compare_error(ours: dict[str, Any], recorded: dict[str, Any], early: bool) -> None:
    assert ours["sys"] == recorded["sys"]
    assert ours["message"] == recorded["message"]
    details = dict(ours.get("details") or {})
    if early and "environment" not in recorded.get("details", {}):
        details.pop("environment", None)
    assert (details or None) == recorded.get("details")


def _compare_collection(
    ours: dict[str, Any],
    recorded: dict[str, Any],
    ordered: bool,
    early: bool,
    stored: Stored,
) -> None:
    for key in ("sys", "total", "skip", "limit"):
        assert ours[key] == recorded[key], key
    by_id = {_key(item): item for item in recorded["items"]}

    def normal(items: list[Any], theirs: dict[Any, Any]) -> list[str]:
        return [_normal(item, theirs.get(_key(item)), early, stored) for item in items]

    ours_items, recorded_items = normal(ours["items"], by_id), normal(recorded["items"], {})
    if ordered:
        assert ours_items == recorded_items
    else:
        assert sorted(ours_items) == sorted(recorded_items)
    assert set(ours.get("includes", {})) == set(recorded.get("includes", {}))
    for kind, items in recorded.get("includes", {}).items():
        theirs = {_key(item): item for item in items}
        assert sorted(normal(ours["includes"][kind], theirs)) == sorted(normal(items, {}))
    assert _as_set(ours.get("errors")) == _as_set(recorded.get("errors"))
    assert ("errors" in ours) == ("errors" in recorded)


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return item["sys"]["type"], item["sys"]["id"]


def _as_set(errors: list[Any] | None) -> set[str]:
    return {json.dumps(error, sort_keys=True) for error in errors or []}


def _normal(
    item: dict[str, Any], recorded: dict[str, Any] | None, early: bool, stored: Stored
) -> str:
    """The item as canonical JSON, with the ignored differences (see the module
    docstring) taken out. `recorded` is the recorded twin when `item` is ours."""
    item = json.loads(json.dumps(item))
    sys = item.get("sys", {})
    if early and recorded is not None and "environment" not in recorded.get("sys", {}):
        sys.pop("environment", None)
    stored_item = stored.get((str(sys.get("type")), str(sys.get("id"))), {})
    if recorded is None and item.get("metadata") == {"tags": []} and "metadata" not in stored_item:
        del item["metadata"]
    _loosen_urls(item.get("fields"))
    return json.dumps(item, sort_keys=True)


def _loosen_urls(fields: Any) -> None:
    file = fields.get("file") if isinstance(fields, dict) else None
    if not isinstance(file, dict):
        return
    for value in [file, *file.values()]:
        if isinstance(value, dict) and isinstance(value.get("url"), str):
            value["url"] = _HOST.sub("//ASSET-HOST/", value["url"])
