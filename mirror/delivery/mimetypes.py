"""`mimetype_group=`: which asset file content types each group names. The groups are
Contentful's (contentful.js lists them); which MIME types fall in each is our reading
of their names, verified only for image and video."""

from __future__ import annotations

_PREFIXES = {
    "image": ("image/",),
    "audio": ("audio/",),
    "video": ("video/",),
}
_TYPES = {
    "plaintext": {"text/plain"},
    "richtext": {
        "application/rtf",
        "text/rtf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.apple.pages",
    },
    "presentation": {
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.presentation",
        "application/vnd.apple.keynote",
    },
    "spreadsheet": {
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.apple.numbers",
        "text/csv",
    },
    "pdfdocument": {"application/pdf"},
    "archive": {
        "application/zip",
        "application/x-zip-compressed",
        "application/x-tar",
        "application/gzip",
        "application/x-gzip",
        "application/x-7z-compressed",
        "application/x-rar-compressed",
        "application/x-bzip2",
    },
    "code": {
        "application/json",
        "application/javascript",
        "text/javascript",
        "text/css",
        "application/x-python",
        "text/x-python",
        "application/x-sh",
        "text/x-c",
    },
    "markup": {
        "text/html",
        "application/xml",
        "text/xml",
        "application/xhtml+xml",
        "text/markdown",
    },
}
GROUPS = frozenset({*_PREFIXES, *_TYPES, "attachment"})


def known_group(group: str) -> bool:
    return group in GROUPS


def group_of(content_type: str) -> str:
    """The group a file's content type belongs to; `attachment` when no other fits."""
    base = content_type.split(";")[0].strip().lower()
    for group, prefixes in _PREFIXES.items():
        if base.startswith(prefixes):
            return group
    for group, types in _TYPES.items():
        if base in types:
            return group
    return "attachment"


def in_group(content_type: str, group: str) -> bool:
    return group_of(content_type) == group
