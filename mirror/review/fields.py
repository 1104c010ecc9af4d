"""One item before and after, compared field by field and locale by locale, each
value rendered at its own commit (a link reads as its target was then). Long text
and rich text become word diffs; everything is cut to a size a page can hold."""

from __future__ import annotations

from typing import Any

from mirror.client.assets import FILES, safe_file_name
from mirror.errors import InvalidData
from mirror.outputs.flatten import asset_url
from mirror.review import values
from mirror.review.model import FieldChange, Thumbnail
from mirror.review.snapshot import Snapshot
from mirror.review.words import Segment, word_diff

DIFF_CHARS = 2_000  # a word diff is cut beyond this
_ASSET_FIELDS = {"title": {"type": "Symbol"}, "description": {"type": "Text"}}
_TAGS = "metadata.tags"  # Contentful tags, not a field of the content type
SAME_TEXT = "reads the same; only formatting, marks or link data changed"


def entry_fields(
    before: Any,
    after: Any,
    types: tuple[str | None, str | None],
    old: Snapshot,
    new: Snapshot,
) -> list[FieldChange]:
    """The fields of an entry that differ; `types` are its content types before and
    after (they differ for a retyped entry). An added entry shows every field."""
    old_defs = {d["id"]: d for d in old.field_definitions(types[0])}
    new_defs = {d["id"]: d for d in new.field_definitions(types[1])}
    old_fields, new_fields = _fields(before), _fields(after)
    order = [*new_defs, *old_defs, *sorted(set(old_fields) | set(new_fields))]
    found = []
    for name in dict.fromkeys(order):
        if name not in old_fields and name not in new_fields:
            continue
        definitions = (old_defs.get(name), new_defs.get(name))
        localized = bool((definitions[1] or definitions[0] or {}).get("localized"))
        found += _compare(
            name, old_fields.get(name), new_fields.get(name), definitions, old, new, localized
        )
    tags = _tags(before), _tags(after)
    if tags[0] != tags[1]:
        found.append(FieldChange(_TAGS, None, tags[0] or None, tags[1] or None))
    return found


def asset_fields(before: Any, after: Any, old: Snapshot, new: Snapshot) -> list[FieldChange]:
    """Title, description, and the file's name, type, size and dimensions per locale."""
    old_fields, new_fields = _fields(before), _fields(after)
    found = []
    for name, definition in _ASSET_FIELDS.items():
        pair = (definition, definition)
        found += _compare(name, old_fields.get(name), new_fields.get(name), pair, old, new, True)
    old_files, new_files = _dict(old_fields.get("file")), _dict(new_fields.get("file"))
    for locale in _locales(old_files, new_files, old, new):
        spec_before, spec_after = old_files.get(locale), new_files.get(locale)
        if spec_before == spec_after:
            continue
        parts_before = values.file_parts(spec_before)
        parts_after = values.file_parts(spec_after)
        changes = [
            FieldChange(part, locale, parts_before.get(part), parts_after.get(part))
            for part in values.FILE_PARTS
            if parts_before.get(part) != parts_after.get(part)
        ]
        if not changes:  # the same name, type and size: a new upload at a new URL
            changes = [FieldChange("file url", locale, _url(spec_before), _url(spec_after))]
        found += changes
    return found


def thumbnails(
    asset_id: str, before: Any, after: Any, old: Snapshot, new: Snapshot
) -> list[tuple[str, Thumbnail | None, Thumbnail | None]]:
    """Images before and after, per locale whose file changed; when none did, the
    default locale's, so a reviewer still sees which picture a new title is for."""
    old_files = _dict(_fields(before).get("file"))
    new_files = _dict(_fields(after).get("file"))
    locales = _locales(old_files, new_files, old, new)
    changed = [code for code in locales if old_files.get(code) != new_files.get(code)]
    found = []
    for locale in changed or [code for code in locales if code == new.default_locale]:
        pair = (
            _thumbnail(asset_id, locale, old_files.get(locale), old),
            _thumbnail(asset_id, locale, new_files.get(locale), new),
        )
        if pair[0] or pair[1]:
            found.append((locale, *pair))
    return found


def _compare(
    name: str,
    before: Any,
    after: Any,
    definitions: tuple[dict[str, Any] | None, dict[str, Any] | None],
    old: Snapshot,
    new: Snapshot,
    localized: bool,
) -> list[FieldChange]:
    """One field's changes, a FieldChange per locale whose value differs."""
    old_values = before if isinstance(before, dict) else {}
    new_values = after if isinstance(after, dict) else {}
    found = []
    for locale in _locales(old_values, new_values, old, new):
        if old_values.get(locale) == new_values.get(locale):
            continue
        text_before = _text(old_values, locale, definitions[0], old)
        text_after = _text(new_values, locale, definitions[1], new)
        shown = locale if localized or locale != new.default_locale else None
        texts = (_cut(text_before), _cut(text_after))
        if text_before == text_after:
            found.append(FieldChange(name, shown, *texts, note=SAME_TEXT))
        elif values.wordy(definitions[1] or definitions[0], text_before, text_after):
            assert text_before is not None and text_after is not None
            words = _bounded(word_diff(text_before, text_after))
            found.append(FieldChange(name, shown, *texts, words))
        else:
            found.append(FieldChange(name, shown, *texts))
    return found


def _text(
    stored: dict[str, Any], locale: str, definition: dict[str, Any] | None, at: Snapshot
) -> str | None:
    if locale not in stored:
        return None
    return values.render(stored[locale], definition, at.link_label)


def _bounded(segments: list[Segment]) -> list[Segment]:
    kept: list[Segment] = []
    used = 0
    for op, text in segments:
        if used + len(text) > DIFF_CHARS:
            kept.append((op, text[: max(0, DIFF_CHARS - used)]))
            kept.append(("=", f" … (the rest of the diff is cut at {DIFF_CHARS:,} characters)"))
            break
        kept.append((op, text))
        used += len(text)
    return kept


def _cut(text: str | None) -> str | None:
    return None if text is None else values.cut(text)


def _locales(
    before: dict[str, Any], after: dict[str, Any], old: Snapshot, new: Snapshot
) -> list[str]:
    codes = set(before) | set(after)
    last = len(new.locale_order) + len(old.locale_order)

    def place(code: str) -> tuple[int, str]:
        return (new.locale_order.get(code, old.locale_order.get(code, last)), code)

    return sorted(codes, key=place)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _fields(item: Any) -> dict[str, Any]:
    return _dict(_dict(item).get("fields"))


def _tags(item: Any) -> str:
    tags = _dict(_dict(item).get("metadata")).get("tags") or []
    ids = [str((tag.get("sys") or {}).get("id")) for tag in tags if isinstance(tag, dict)]
    return ", ".join(sorted(ids))


def _url(spec: Any) -> str | None:
    return str(spec["url"]) if isinstance(spec, dict) and spec.get("url") else None


def _thumbnail(asset_id: str, locale: str, spec: Any, at: Snapshot) -> Thumbnail | None:
    """An image's URL and, when the mirror keeps the file at that commit, where."""
    if not isinstance(spec, dict) or not str(spec.get("contentType", "")).startswith("image/"):
        return None
    url = asset_url(str(spec["url"])) if spec.get("url") else None
    if url is not None and not url.startswith(("https://", "http://")):
        url = None  # never a javascript: or data: URL from content
    try:
        name = safe_file_name(spec.get("fileName") or str(spec.get("url")).rsplit("/", 1)[-1])
    except InvalidData:
        name = None
    file = f"{FILES}/{asset_id}/{locale}/{name}" if name else None
    blob = at.asset_file(file) if file else None
    size = _dict(spec.get("details")).get("size")
    return Thumbnail(
        url,
        file if blob else None,
        blob,
        str(spec["contentType"]),
        size if isinstance(size, int) else None,
    )
