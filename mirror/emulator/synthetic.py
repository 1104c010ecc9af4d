"""A deterministic synthetic space of any size, for scale tests and benchmarks.

N entries of four content types (articles, products, people, categories) in two
locales, about 1 KB each, with rich text and links among entries and to
assets, plus N/10 assets; then rounds of K random changes (edits, additions,
deletions). The same seed gives the same space and the same changes. Changes are
generated as they are applied, so a 100k-entry space never sits in memory twice.
"""

from __future__ import annotations

import hashlib
import random
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, overload

from mirror.emulator.space import Change, SpaceDefinition
from mirror.wire import link

WORDS = [
    "harbour",
    "lantern",
    "market",
    "valley",
    "bridge",
    "archive",
    "river",
    "garden",
    "tower",
    "coast",
    "orchard",
    "meadow",
    "station",
    "museum",
    "bakery",
    "ferry",
    "summit",
    "canal",
    "village",
    "library",
    "plaza",
    "terrace",
    "quarry",
    "lighthouse",
    "vineyard",
    "pavilion",
    "courtyard",
    "monastery",
    "observatory",
    "boulevard",
    "tramway",
    "causeway",
    "",
]
KINDS = ("article",) * 4 + ("product",) * 3 + ("person",) * 2 + ("category",)


def _field(id_: str, type_: str, localized: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "name": id_.title(),
        "type": type_,
        "localized": localized,
        "required": id_ in ("title", "name"),
        "disabled": False,
        "omitted": False,
        **extra,
    }


CONTENT_TYPES: dict[str, dict[str, Any]] = {
    "article": {
        "name": "Article",
        "displayField": "title",
        "description": None,
        "fields": [
            _field("title", "Symbol", True),
            _field("slug", "Symbol"),
            _field("summary", "Text", True),
            _field("body", "RichText", True),
            _field("rating", "Number"),
            _field("views", "Integer"),
            _field("published", "Date"),
            _field("featured", "Boolean"),
            _field("tags", "Array", items={"type": "Symbol"}),
            _field("author", "Link", linkType="Entry"),
            _field("image", "Link", linkType="Asset"),
            _field("related", "Array", items={"type": "Link", "linkType": "Entry"}),
        ],
    },
    "product": {
        "name": "Product",
        "displayField": "name",
        "description": None,
        "fields": [
            _field("name", "Symbol", True),
            _field("sku", "Symbol"),
            _field("price", "Number"),
            _field("stock", "Integer"),
            _field("available", "Boolean"),
            _field("specs", "Object"),
            _field("description", "Text", True),
            _field("image", "Link", linkType="Asset"),
            _field("category", "Link", linkType="Entry"),
        ],
    },
    "person": {
        "name": "Person",
        "displayField": "name",
        "description": None,
        "fields": [
            _field("name", "Symbol"),
            _field("bio", "Text", True),
            _field("location", "Location"),
            _field("languages", "Array", items={"type": "Symbol"}),
            _field("avatar", "Link", linkType="Asset"),
        ],
    },
    "category": {
        "name": "Category",
        "displayField": "title",
        "description": None,
        "fields": [
            _field("title", "Symbol", True),
            _field("description", "Text", True),
            _field("parent", "Link", linkType="Entry"),
        ],
    },
}
LOCALES = [
    {"code": "en-US", "name": "English", "default": True, "fallbackCode": None, "optional": False},
    {
        "code": "de-DE",
        "name": "German",
        "default": False,
        "fallbackCode": "en-US",
        "optional": True,
    },
    {
        "code": "fr-FR",
        "name": "French",
        "default": False,
        "fallbackCode": "de-DE",
        "optional": True,
    },
]


@dataclass(frozen=True)
class Plan:
    """What a round does, by index: edits get a new version, deletions end an item."""

    action: str  # "put" or "delete"
    kind: str  # "Entry" or "Asset"
    index: int
    version: int = 0


class SyntheticSpace:
    def __init__(self, entries: int, seed: int = 0, rounds: int = 3, changes: int = 100) -> None:
        self.entries = entries
        self.assets = max(1, entries // 10)
        self.seed = seed
        self.plans = self._plan_rounds(rounds, changes)

    def definition(self) -> SpaceDefinition:
        space = SpaceDefinition(
            folder=None,
            id="synthetic",
            name=f"Synthetic space of {self.entries} entries",
            environment="master",
            access_token="synthetic-delivery-token",
            management_token="synthetic-management-token",
            starts_at=datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc),
            locales=LOCALES,
            content_types={ct: {"id": ct, **body} for ct, body in CONTENT_TYPES.items()},
            files={f"synthetic/{n}.png": _png(24 + 8 * n, 16 + 4 * n, n) for n in range(8)},
        )
        space.rounds.append(_Round(self, None))
        space.round_notes.append(f"{self.entries} entries and {self.assets} assets")
        for plans in self.plans:
            space.rounds.append(_Round(self, plans))
            space.round_notes.append(f"{len(plans)} random changes")
        return space

    def changes(self, plans: list[Plan] | None) -> Iterator[Change]:
        if plans is None:
            plans = [Plan("put", "Asset", i) for i in range(self.assets)]
            plans += [Plan("put", "Entry", i) for i in range(self.entries)]
        for plan in plans:
            yield self.change(plan)

    def change(self, plan: Plan) -> Change:
        if plan.kind == "Asset":
            item_id = self.asset_id(plan.index)
            fields = None if plan.action == "delete" else self._asset_fields(plan)
            return Change(plan.action, "Asset", item_id, None, fields)
        kind = self.kind_of(plan.index)
        fields = None if plan.action == "delete" else self._entry_fields(plan, kind)
        return Change(plan.action, "Entry", self.entry_id(plan.index), kind, fields)

    # -- identities --------------------------------------------------------------

    def entry_id(self, index: int) -> str:
        return _base62(hashlib.sha256(f"{self.seed}/entry/{index}".encode()).digest())

    def asset_id(self, index: int) -> str:
        return _base62(hashlib.sha256(f"{self.seed}/asset/{index}".encode()).digest())

    @staticmethod
    def kind_of(index: int) -> str:
        return KINDS[index % len(KINDS)]

    # -- rounds ------------------------------------------------------------------

    def _plan_rounds(self, rounds: int, changes: int) -> list[list[Plan]]:
        chooser = random.Random(f"{self.seed}/rounds")
        live, versions, next_index = set(range(self.entries)), dict[int, int](), self.entries
        plans: list[list[Plan]] = []
        for _ in range(rounds):
            this_round: list[Plan] = []
            touched: set[int] = set()
            while len(this_round) < changes:
                roll = chooser.random()
                if roll < 0.2:
                    this_round.append(Plan("put", "Entry", next_index))
                    live.add(next_index)
                    touched.add(next_index)
                    next_index += 1
                    continue
                index = chooser.randrange(next_index)
                if index not in live or index in touched:
                    continue
                touched.add(index)
                if roll < 0.8:
                    versions[index] = versions.get(index, 0) + 1
                    this_round.append(Plan("put", "Entry", index, versions[index]))
                else:
                    live.discard(index)
                    this_round.append(Plan("delete", "Entry", index))
            plans.append(this_round)
        return plans

    # -- content -----------------------------------------------------------------

    def _entry_fields(self, plan: Plan, kind: str) -> dict[str, Any]:
        rng = random.Random(f"{self.seed}/{plan.index}/{plan.version}")
        make = {
            "article": self._article,
            "product": self._product,
            "person": self._person,
            "category": self._category,
        }[kind]
        return make(rng, plan)

    def _words(self, rng: random.Random, count: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(count))

    def _localized(self, rng: random.Random, count: int) -> dict[str, str]:
        # Two locales, as in the space the reference figures were measured on.
        return {
            "en-US": self._words(rng, count).capitalize(),
            "de-DE": self._words(rng, count).capitalize(),
        }

    def _link_to(self, rng: random.Random, kind: str) -> dict[str, Any]:
        offset = KINDS.index(kind)
        index = rng.randrange(max(1, self.entries // len(KINDS))) * len(KINDS) + offset
        return link("Entry", self.entry_id(min(index, max(0, self.entries - 1))))

    def _asset_link(self, rng: random.Random) -> dict[str, Any]:
        return link("Asset", self.asset_id(rng.randrange(self.assets)))

    def _article(self, rng: random.Random, plan: Plan) -> dict[str, Any]:
        paragraphs = [
            {
                "nodeType": "paragraph",
                "data": {},
                "content": [
                    {"nodeType": "text", "value": self._words(rng, 8), "marks": [], "data": {}}
                ],
            }
            for _ in range(1)
        ]
        paragraphs.append(
            {
                "nodeType": "embedded-entry-block",
                "data": {"target": self._link_to(rng, "article")},
                "content": [],
            }
        )
        body = {"nodeType": "document", "data": {}, "content": paragraphs}
        return {
            "title": self._localized(rng, 4),
            "slug": {"en-US": f"article-{plan.index}"},
            "summary": self._localized(rng, 5),
            "body": {"en-US": body},
            "rating": {"en-US": round(rng.uniform(1, 5), 1)},
            "views": {"en-US": rng.randrange(100_000)},
            "published": {"en-US": f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"},
            "featured": {"en-US": rng.random() < 0.1},
            "tags": {"en-US": sorted({rng.choice(WORDS) for _ in range(3)})},
            "author": {"en-US": self._link_to(rng, "person")},
            "image": {"en-US": self._asset_link(rng)},
            "related": {
                "en-US": [self._link_to(rng, "article") for _ in range(rng.randrange(1, 4))]
            },
        }

    def _product(self, rng: random.Random, plan: Plan) -> dict[str, Any]:
        return {
            "name": self._localized(rng, 3),
            "sku": {"en-US": f"SKU-{plan.index:07d}"},
            "price": {"en-US": round(rng.uniform(1, 500), 2)},
            "stock": {"en-US": rng.randrange(1000)},
            "available": {"en-US": rng.random() < 0.9},
            "specs": {
                "en-US": {
                    "weightGrams": rng.randrange(50, 5000),
                    "colour": rng.choice(WORDS),
                    "sizes": ["S", "M", "L"],
                }
            },
            "description": self._localized(rng, 7),
            "image": {"en-US": self._asset_link(rng)},
            "category": {"en-US": self._link_to(rng, "category")},
        }

    def _person(self, rng: random.Random, plan: Plan) -> dict[str, Any]:
        return {
            "name": {"en-US": f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}"},
            "bio": self._localized(rng, 9),
            "location": {
                "en-US": {
                    "lat": round(rng.uniform(-60, 60), 4),
                    "lon": round(rng.uniform(-180, 180), 4),
                }
            },
            "languages": {"en-US": sorted(rng.sample(["en", "de", "fr", "es", "pt", "ja"], 2))},
            "avatar": {"en-US": self._asset_link(rng)},
        }

    def _category(self, rng: random.Random, plan: Plan) -> dict[str, Any]:
        return {
            "title": self._localized(rng, 2),
            "description": self._localized(rng, 9),
            "parent": {"en-US": self._link_to(rng, "category")},
        }

    def _asset_fields(self, plan: Plan) -> dict[str, Any]:
        rng = random.Random(f"{self.seed}/asset/{plan.index}/{plan.version}")
        return {
            "title": self._localized(rng, 3),
            "file": {
                "en-US": {
                    "path": f"synthetic/{plan.index % 8}.png",
                    "fileName": f"image-{plan.index}.png",
                }
            },
        }


class _Round(Sequence[Change]):
    """A round's changes, generated as the store applies them."""

    def __init__(self, space: SyntheticSpace, plans: list[Plan] | None) -> None:
        self._space, self._plans = space, plans

    def __iter__(self) -> Iterator[Change]:
        return self._space.changes(self._plans)

    def __len__(self) -> int:
        if self._plans is not None:
            return len(self._plans)
        return self._space.entries + self._space.assets

    @overload
    def __getitem__(self, index: int) -> Change: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Change]: ...
    def __getitem__(self, index: int | slice) -> Change | Sequence[Change]:
        return list(self)[index]  # the Sequence protocol; nothing here indexes rounds


def _base62(digest: bytes) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    number = int.from_bytes(digest[:16], "big")
    chars = []
    for _ in range(22):
        number, rest = divmod(number, 62)
        chars.append(alphabet[rest])
    return "".join(chars)


def _png(width: int, height: int, shade: int) -> bytes:
    row = b"\x00" + bytes((40 * shade % 256, 120, 200)) * width

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )
