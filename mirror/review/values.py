"""Field values as a reviewer reads them: text as it is, numbers, dates, booleans and
locations plainly, objects as compact JSON, links by their target's title and id
(`(missing)` when the mirror lacks it), rich text as its blocks of text."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mirror.review import richtext

LinkLabel = Callable[[str, str], str]
WORDY_TYPES = ("Text", "RichText")  # always compared word by word
WORDY_CHARS = 80  # other values this long (either side) are compared word by word too
VALUE_CHARS = 400  # a value shown whole is cut beyond this


def type_name(definition: dict[str, Any] | None) -> str:
    """`Symbol`, `Link to Entry`, `Array of Link to Asset`, `RichText`."""
    if not definition:
        return "unknown"
    kind = str(definition.get("type") or "unknown")
    if kind == "Link":
        return f"Link to {definition.get('linkType') or '?'}"
    if kind == "Array":
        return f"Array of {type_name(definition.get('items') or {})}"
    return kind


def render(value: Any, definition: dict[str, Any] | None, label: LinkLabel) -> str:
    """One value (one locale of a field) as text."""
    kind = (definition or {}).get("type")
    if kind == "RichText" or _is_document(value):
        return richtext.text(value, label)
    if kind == "Location" and isinstance(value, dict):
        return f"{value.get('lat')}, {value.get('lon')}"
    if isinstance(value, list):
        return ", ".join(_element(element, label) for element in value)
    return _element(value, label)


def wordy(definition: dict[str, Any] | None, before: str | None, after: str | None) -> bool:
    """Whether a change is shown as a word diff rather than before → after."""
    if before is None or after is None:
        return False
    if (definition or {}).get("type") in WORDY_TYPES:
        return True
    return max(len(before), len(after)) > WORDY_CHARS


def cut(text: str, limit: int = VALUE_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rstrip() + f"… ({len(text) - limit:,} more characters)"


def _element(value: Any, label: LinkLabel) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if value is None:
        return "null"
    if isinstance(value, dict):
        sys = value.get("sys")
        if isinstance(sys, dict) and sys.get("type") == "Link":
            return label(str(sys.get("linkType")), str(sys.get("id")))
        if isinstance(sys, dict) and sys.get("type") == "ResourceLink":
            return str(sys.get("urn") or "(a resource link without urn)")
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def _is_document(value: Any) -> bool:
    return isinstance(value, dict) and value.get("nodeType") == "document"


# -- asset files --------------------------------------------------------------------

FILE_PARTS = ("file name", "content type", "size", "dimensions")


def file_parts(spec: Any) -> dict[str, str]:
    """An asset's file in one locale as the parts a reviewer compares."""
    if not isinstance(spec, dict):
        return {}
    details = _dict(spec.get("details"))
    image = _dict(details.get("image"))
    size, width, height = details.get("size"), image.get("width"), image.get("height")
    parts = {
        "file name": spec.get("fileName"),
        "content type": spec.get("contentType"),
        "size": size_text(size) if isinstance(size, int) else None,
        "dimensions": f"{width}\N{MULTIPLICATION SIGN}{height}" if width and height else None,
    }
    return {name: str(text) for name, text in parts.items() if text is not None}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def size_text(size: int) -> str:
    """`812 bytes`, `1.2 KB (1,238 bytes)`, `3.4 MB (3,456,789 bytes)`."""
    if size < 1000:
        return f"{size:,} bytes"
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit} ({size:,} bytes)"
    return f"{size:,} bytes"
