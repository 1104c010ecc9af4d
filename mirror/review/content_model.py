"""Changes to the content model between two snapshots: content types and their fields
added, removed or retyped, and locales added, removed or re-chained. Listed before
any item in a review, because these are the changes that break a site's build."""

from __future__ import annotations

from typing import Any

from mirror.review.model import ModelChange
from mirror.review.snapshot import Snapshot
from mirror.review.values import type_name

# Field flags a build depends on, and how a change of each reads.
_FLAGS = {
    "localized": ("now localized", "no longer localized"),
    "required": ("now required", "no longer required"),
    "disabled": ("now disabled in the editor", "enabled again in the editor"),
    "omitted": ("now omitted from the API", "delivered by the API again"),
}


def model_changes(old: Snapshot, new: Snapshot) -> list[ModelChange]:
    """Locale changes first, then content types by id."""
    found = _locale_changes(old.locales, new.locales)
    before, after = old.content_types, new.content_types
    for type_id in sorted(set(before) | set(after)):
        subject = f"content type {type_id}"
        if type_id not in before:
            fields = after[type_id].get("fields") or []
            found.append(ModelChange(subject, f"added ({len(fields)} fields)"))
        elif type_id not in after:
            found.append(ModelChange(subject, "removed"))
        else:
            found += [
                ModelChange(subject, what)
                for what in _type_changes(before[type_id], after[type_id])
            ]
    return found


def _type_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    changes = []
    if before.get("displayField") != after.get("displayField"):
        changes.append(f"display field {before.get('displayField')} → {after.get('displayField')}")
    if before.get("name") != after.get("name"):
        changes.append(f"renamed {before.get('name')!r} → {after.get('name')!r}")
    old_fields = {f["id"]: f for f in before.get("fields") or [] if "id" in f}
    new_fields = {f["id"]: f for f in after.get("fields") or [] if "id" in f}
    for field_id, definition in new_fields.items():
        if field_id not in old_fields:
            changes.append(f"field {field_id} added ({type_name(definition)})")
    for field_id, definition in old_fields.items():
        if field_id not in new_fields:
            changes.append(f"field {field_id} removed (was {type_name(definition)})")
        else:
            changes += _field_changes(field_id, definition, new_fields[field_id])
    return changes


def _field_changes(field_id: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    changes = []
    if type_name(before) != type_name(after):
        changes.append(f"field {field_id} retyped: {type_name(before)} → {type_name(after)}")
    for flag, (now, no_longer) in _FLAGS.items():
        if bool(before.get(flag)) != bool(after.get(flag)):
            changes.append(f"field {field_id} {now if after.get(flag) else no_longer}")
    if _validations(before) != _validations(after):
        changes.append(f"field {field_id}: validations changed")
    return changes


def _validations(definition: dict[str, Any]) -> Any:
    return [definition.get("validations"), (definition.get("items") or {}).get("validations")]


def _locale_changes(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[ModelChange]:
    old = {str(loc["code"]): loc for loc in before}
    new = {str(loc["code"]): loc for loc in after}
    changes = []
    for code, locale in new.items():
        if code not in old:
            fallback = locale.get("fallbackCode")
            falls = f", falls back to {fallback}" if fallback else ""
            changes.append(f"locale {code} added ({locale.get('name') or code}{falls})")
    for code, locale in old.items():
        if code not in new:
            changes.append(f"locale {code} removed")
        elif bool(locale.get("default")) != bool(new[code].get("default")):
            now = "is now" if new[code].get("default") else "is no longer"
            changes.append(f"locale {code} {now} the default")
        if code in new and locale.get("fallbackCode") != new[code].get("fallbackCode"):
            changes.append(
                f"locale {code} falls back to {new[code].get('fallbackCode') or 'nothing'}"
                f" (was {locale.get('fallbackCode') or 'nothing'})"
            )
    return [ModelChange("locales", what) for what in changes]
