"""Contentful's content model: the rules a field value must follow for its type.

Shared by the emulator (its write API refuses what breaks them) and the client
(`mirror verify` reports mirrored entries that break them)."""

from __future__ import annotations

import re
from typing import Any

from mirror.wire import is_safe_id

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
ASSET_FIELDS = ("title", "description", "file")


class ValidationFailed(ValueError):
    """A write body breaks the content model; `errors` says how, one line each.
    `missing_required` holds those of the lines that name a required field without a
    value: the only rule a draft (Preview API) may legitimately break."""

    def __init__(self, errors: list[str], missing_required: list[str] | None = None) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors
        self.missing_required = missing_required or []


def check_entry_fields(
    fields: Any,
    content_type: dict[str, Any],
    locales: list[str],
    default_locale: str,
) -> None:
    errors = _shape_errors(fields, locales)
    if errors:
        raise ValidationFailed(errors)
    definitions = {f["id"]: f for f in content_type["fields"]}
    for field_id, values in fields.items():
        definition = definitions.get(field_id)
        if definition is None:
            errors.append(f"fields.{field_id}: no such field in content type {content_type['id']}")
            continue
        if not definition.get("localized") and set(values) - {default_locale}:
            errors.append(f"fields.{field_id}: not localized, only {default_locale} may be set")
        for locale, value in values.items():
            problem = _value_problem(value, definition)
            if problem:
                errors.append(f"fields.{field_id}.{locale}: {problem}")
    missing = [
        f"fields.{definition['id']}: required, missing for {default_locale}"
        for definition in content_type["fields"]
        if definition.get("required")
        and fields.get(definition["id"], {}).get(default_locale) is None
    ]
    if errors or missing:
        raise ValidationFailed(errors + missing, missing)


def check_asset_fields(fields: Any, locales: list[str]) -> None:
    errors = _shape_errors(fields, locales)
    if not errors:
        errors += [
            f"fields.{k}: assets have no such field" for k in fields if k not in ASSET_FIELDS
        ]
    if errors:
        raise ValidationFailed(errors)


def _shape_errors(fields: Any, locales: list[str]) -> list[str]:
    if not isinstance(fields, dict):
        return ["fields: must be an object {field: {locale: value}}"]
    errors = []
    for field_id, values in fields.items():
        if not isinstance(values, dict):
            errors.append(f"fields.{field_id}: must be an object {{locale: value}}")
            continue
        errors += [
            f"fields.{field_id}.{code}: unknown locale" for code in values if code not in locales
        ]
    return errors


def _value_problem(value: Any, definition: dict[str, Any]) -> str | None:
    kind = definition["type"]
    if value is None:
        return None
    if kind == "Array":
        if not isinstance(value, list):
            return "must be an array"
        item_definition = dict(definition.get("items") or {})
        if "allowedResources" in definition:  # declared on the field, it rules its items
            item_definition.setdefault("allowedResources", definition["allowedResources"])
        problems = [_value_problem(item, item_definition) for item in value]
        return next((f"item {i}: {p}" for i, p in enumerate(problems) if p), None)
    check = _CHECKS.get(kind)
    if check is None:
        return f"unsupported field type {kind}"
    return check(value, definition)


def _symbol(value: Any, _: dict[str, Any]) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    return "longer than 256 characters" if len(value) > 256 else None


def _text(value: Any, _: dict[str, Any]) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _integer(value: Any, _: dict[str, Any]) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool)
    return None if ok else "must be an integer"


def _number(value: Any, _: dict[str, Any]) -> str | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return None if ok else "must be a number"


def _boolean(value: Any, _: dict[str, Any]) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _date(value: Any, _: dict[str, Any]) -> str | None:
    ok = isinstance(value, str) and bool(_DATE.match(value))
    return None if ok else "must be an ISO 8601 date"


def _location(value: Any, _: dict[str, Any]) -> str | None:
    ok = (
        isinstance(value, dict)
        and set(value) == {"lat", "lon"}
        and all(_number(value[k], {}) is None for k in ("lat", "lon"))
    )
    return None if ok else "must be {lat: number, lon: number}"


def _object(value: Any, _: dict[str, Any]) -> str | None:
    return None if isinstance(value, (dict, list)) else "must be a JSON object or array"


def _rich_text(value: Any, _: dict[str, Any]) -> str | None:
    ok = isinstance(value, dict) and value.get("nodeType") == "document"
    ok = ok and isinstance(value.get("content"), list)
    return None if ok else "must be a rich text document (nodeType: document)"


def _link(value: Any, definition: dict[str, Any]) -> str | None:
    sys = value.get("sys") if isinstance(value, dict) else None
    if not isinstance(sys, dict) or sys.get("type") != "Link" or not is_safe_id(sys.get("id")):
        return "must be a link {sys: {type: Link, linkType, id}}"
    expected = definition.get("linkType")
    if expected and sys.get("linkType") != expected:
        return f"must link to an {expected}"
    return None


def _resource_link(value: Any, definition: dict[str, Any]) -> str | None:
    """A cross-space reference: {sys: {type: ResourceLink, linkType, urn}}, the urn a
    Contentful resource name (crn:...) within a source the field allows."""
    sys = value.get("sys") if isinstance(value, dict) else None
    link_type = sys.get("linkType") if isinstance(sys, dict) else None
    urn = sys.get("urn") if isinstance(sys, dict) else None
    if (
        not isinstance(sys, dict)
        or sys.get("type") != "ResourceLink"
        or not isinstance(link_type, str)
        or not link_type
        or not isinstance(urn, str)
        or not urn.startswith("crn:")
    ):
        return "must be a resource link {sys: {type: ResourceLink, linkType, urn: crn:...}}"
    allowed = [r for r in definition.get("allowedResources") or [] if isinstance(r, dict)]
    if not allowed:
        return None
    fitting = [r for r in allowed if r.get("type") == link_type]
    if not fitting:
        return f"must link to one of {', '.join(sorted(str(r.get('type')) for r in allowed))}"
    sources = [str(r["source"]) for r in fitting if r.get("source")]
    if sources and not any(urn.startswith(source + "/") for source in sources):
        return f"must link into {' or '.join(sorted(sources))}"
    return None


_CHECKS = {
    "Symbol": _symbol,
    "Text": _text,
    "Integer": _integer,
    "Number": _number,
    "Boolean": _boolean,
    "Date": _date,
    "Location": _location,
    "Object": _object,
    "RichText": _rich_text,
    "Link": _link,
    "ResourceLink": _resource_link,
}
