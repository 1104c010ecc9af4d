"""mirror.json: what the mirror is of and where its sync stands. Never a credential."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from mirror.errors import MirrorStateError
from mirror.wire import canonical_json

FORMAT = 1


@dataclass
class MirrorState:
    space: str
    environment: str
    base_url: str
    type: str = "all"
    content_type: str | None = None
    limit: int = 1000
    sync_token: str | None = None
    round: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    download_assets: bool = False

    def to_bytes(self) -> bytes:
        data = asdict(self)
        filters = {"type": data.pop("type"), "content_type": data.pop("content_type")}
        return canonical_json({"format": FORMAT, **data, "filters": filters})

    @classmethod
    def from_bytes(cls, raw: bytes, where: str) -> MirrorState:
        try:
            data: dict[str, Any] = json.loads(raw)
            if data.pop("format") != FORMAT:
                raise ValueError("unknown format")
            filters = data.pop("filters")
            state = cls(**data, type=filters["type"], content_type=filters["content_type"])
        except (ValueError, KeyError, TypeError) as error:
            raise MirrorStateError(
                f"{where} is not a mirror state file this version understands ({error}); "
                "restore it from git or sync into a new folder"
            ) from None
        return state
