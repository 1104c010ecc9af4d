"""What the emulator needs to know about asset files: their type and image size."""

from __future__ import annotations

import mimetypes
import struct

_EXTRA_TYPES = {
    ".gpx": "application/gpx+xml",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}


def guess_content_type(file_name: str) -> str:
    lower = file_name.lower()
    for ext, content_type in _EXTRA_TYPES.items():
        if lower.endswith(ext):
            return content_type
    guessed, _ = mimetypes.guess_type(file_name)
    return guessed or "application/octet-stream"


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG, read from its header; None for others."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    offset = 2
    while offset + 9 < len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        length = struct.unpack(">H", data[offset + 2 : offset + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[offset + 5 : offset + 9])
            return int(width), int(height)
        offset += 2 + length
    return None
