"""One image through the Images API's parameters: read its header, decode it within a
pixel budget, scale, cut, pad and round it (mirror.images.geometry says where), encode it.

Memory is bounded before anything is decoded: a source that would decode to more than
MAX_PIXELS is refused with ImageTooLarge (422). `identify` reads only the header; the size
a WebP or GIF declares is checked even before Pillow parses it (its WebP decoder allocates
the canvas as it opens), that of PNG, TIFF and AVIF right after. A JPEG is checked by
`render` as it will be decoded: at 1/2, 1/4 or 1/8 of its size when the result is that much
smaller, so a 48-megapixel photo scaled to 800 pixels costs 3 megapixels. Results are at
most 4000 x 4000 by their parameters (mirror.images.geometry), or the source's size.
Each step releases the pixels of the one before (`_then`), so one transformation holds a few
copies of at most MAX_PIXELS: measured on a 25-megapixel source, 230 to 440 MB at the peak
(libwebp's encoder needs the most), and at most CONCURRENT run at once.

Pillow decodes and encodes: the maintained imaging library of Python, with the codecs
each format needs (libjpeg-turbo, zlib, libwebp, libavif) and DCT-domain JPEG downscaling
(`draft`). Only the formats of SOURCE_FORMATS are opened, each by its own plugin.
"""

from __future__ import annotations

import io
import struct
import threading
from dataclasses import dataclass
from typing import Any

from PIL import (
    AvifImagePlugin,
    GifImagePlugin,
    Image,
    ImageChops,
    ImageDraw,
    ImageFile,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from mirror.images.geometry import Plan, Size, plan_for
from mirror.images.params import ELLIPSE, ImageParams, ImageRefused

MAX_PIXELS = 25_000_000  # decoded source pixels of one transformation
MAX_AVIF_PIXELS = 9_000_000  # the Images API's limit for AVIF results
CONCURRENT = 2  # transformations at once, per process (this machine has 2 cores)
DEFAULT_QUALITY = 80  # jpg, webp and avif, when no `q` is given
_MASK_PIXELS = 16_000_000  # a rounded-corner mask is drawn up to 4x finer, within this

# The plugins registering the formats opened (imported for that, and for their names).
SOURCE_FORMATS = {
    JpegImagePlugin.JpegImageFile.format: "jpg",
    "MPO": "jpg",  # a camera's JPEG holding several pictures: its first
    PngImagePlugin.PngImageFile.format: "png",
    GifImagePlugin.GifImageFile.format: "gif",
    WebPImagePlugin.WebPImageFile.format: "webp",
    AvifImagePlugin.AvifImageFile.format: "avif",
    TiffImagePlugin.TiffImageFile.format: "tiff",
}
MEDIA_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "avif": "image/avif",
    "tiff": "image/tiff",
}
_SAVE_AS = {
    "jpg": "JPEG",
    "png": "PNG",
    "webp": "WEBP",
    "gif": "GIF",
    "avif": "AVIF",
    "tiff": "TIFF",
}
_WHITE = (255, 255, 255, 255)
_CLEAR = (255, 255, 255, 0)
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ORIENTATION_TAG = 0x0112
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error)
_running = threading.BoundedSemaphore(CONCURRENT)


class ImageTooLarge(ImageRefused):
    """An image, or a result, over this server's pixel budget."""

    status = 422
    code = "ImageTooLarge"


class UnreadableImage(ImageRefused):
    """A file that starts as an image but cannot be decoded."""

    status = 422
    code = "InvalidImage"


@dataclass
class SourceImage:
    """An image whose header was read and nothing decoded."""

    image: ImageFile.ImageFile
    format: str  # as `fm` names it: jpg, png, ...
    orientation: int  # EXIF's, 1 to 8

    @property
    def size(self) -> Size:
        """As shown: width and height swapped for a quarter turn."""
        width, height = self.image.size
        return (height, width) if self.orientation >= 5 else (width, height)


def identify(data: bytes) -> SourceImage | None:
    """The image `data` holds, header read; None if it is none of SOURCE_FORMATS (an SVG, a
    PDF, a GPX track: served as they are). ImageTooLarge for a declared size over the
    budget, UnreadableImage for a header that does not parse."""
    for name, short in SOURCE_FORMATS.items():
        if name == "MPO":
            continue  # opened by the JPEG plugin
        factory, accept = Image.OPEN[name]
        if accept is not None and accept(data[:16]) is not True:
            continue
        _check_pixels(_declared_size(data, name))
        try:
            image = factory(io.BytesIO(data), "")
        except Image.DecompressionBombError as failure:
            raise ImageTooLarge(str(failure)) from None
        except _DECODE_ERRORS as failure:
            message = f"the file starts as {short} but cannot be read: {failure}"
            raise UnreadableImage(message) from None
        if name != "JPEG":  # a JPEG is checked as it will be decoded, maybe at 1/8 (render)
            _check_pixels(image.size)
        return SourceImage(image, SOURCE_FORMATS[image.format or name], _orientation(image))
    return None


def render(source: SourceImage, params: ImageParams) -> bytes:
    """The image `params` ask for, encoded; ImageTooLarge or UnreadableImage if not."""
    plan = plan_for(source.size, params)
    image_format = params.format or source.format
    result = plan.result(source.size)
    if image_format == "avif" and result[0] * result[1] > MAX_AVIF_PIXELS:
        raise ImageTooLarge(
            f"an AVIF image of {result[0]}x{result[1]} pixels is over the Images API's "
            f"{MAX_AVIF_PIXELS // 1_000_000} megapixels for AVIF: ask for a smaller w or h"
        )
    # A colour profile describes the source's colour space: kept only where that is RGB.
    rgb = source.image.mode in ("RGB", "RGBA", "P", "PA")
    icc = source.image.info.get("icc_profile") if rgb else None
    with _running:
        image = _decoded(source, plan)
        image = _shaped(image, plan, params, image_format)
        return _encoded(image, image_format, params, icc)


# -- decoding ---------------------------------------------------------------------------


def _decoded(source: SourceImage, plan: Plan) -> Image.Image:
    image = source.image
    if plan.scale is not None and image.format in ("JPEG", "MPO"):
        wanted = plan.scale[::-1] if source.orientation >= 5 else plan.scale
        # Twice the size needed: the last halving is left to a proper filter.
        image.draft(None, (wanted[0] * 2, wanted[1] * 2))
    _check_pixels(image.size)
    try:
        image.load()
    except Image.DecompressionBombError as failure:
        raise ImageTooLarge(str(failure)) from None
    except _DECODE_ERRORS as failure:
        raise UnreadableImage(f"the {source.format} file cannot be decoded: {failure}") from None
    loaded: Image.Image = image
    if source.orientation in _TRANSPOSE:
        loaded = _then(loaded, loaded.transpose(_TRANSPOSE[source.orientation]))
    if loaded.mode not in ("RGB", "RGBA"):
        clear = loaded.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in loaded.info
        loaded = _then(loaded, loaded.convert("RGBA" if clear else "RGB"))
    return loaded


def _then(old: Image.Image, new: Image.Image) -> Image.Image:
    """`new`, with the pixels of `old` released now, not when the last reference to it
    goes (the caller's, while this step runs): one copy less at the peak."""
    if new is not old:
        old.close()
    return new


def _check_pixels(size: Size | None) -> None:
    if size is None or size[0] * size[1] <= MAX_PIXELS:
        return
    megapixels = size[0] * size[1] / 1_000_000
    raise ImageTooLarge(
        f"the image is {size[0]}x{size[1]} pixels ({megapixels:.1f} megapixels); this server "
        f"transforms images of at most {MAX_PIXELS // 1_000_000} megapixels (a decompression "
        "bomb, or a very large photo): request it without parameters to get the file as it is"
    )


def _declared_size(data: bytes, name: str) -> Size | None:
    """The canvas a WebP or GIF header declares (GIF: with its first frame), read before
    Pillow opens it; None for other formats or a header too short to say."""
    if name == "WEBP" and len(data) >= 30:
        kind = data[12:16]
        if kind == b"VP8X":  # 24-bit little-endian width - 1 and height - 1
            return (
                int.from_bytes(data[24:27], "little") + 1,
                int.from_bytes(data[27:30], "little") + 1,
            )
        if kind == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # 14-bit sizes after the start code
            width, height = struct.unpack("<HH", data[26:30])
            return (width & 0x3FFF, height & 0x3FFF)
        if kind == b"VP8L" and data[20] == 0x2F:  # 14-bit width - 1, then height - 1
            bits = int.from_bytes(data[21:25], "little")
            return ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if name == "GIF" and len(data) >= 13:
        return _gif_size(data)
    return None


def _gif_size(data: bytes) -> Size:
    """The logical screen of a GIF, grown to hold its first frame (as Pillow grows it)."""
    width, height = struct.unpack("<HH", data[6:10])
    palette = 3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0  # the global colour table
    offset = 13 + palette
    while offset < len(data):
        block = data[offset]
        if block == 0x2C and offset + 9 < len(data):  # the first image descriptor
            left, top, frame_width, frame_height = struct.unpack(
                "<HHHH", data[offset + 1 : offset + 9]
            )
            return (max(width, left + frame_width), max(height, top + frame_height))
        if block != 0x21:  # not an extension: no frame follows
            break
        offset += 2  # the introducer and the label, then sub-blocks until an empty one
        while offset < len(data) and data[offset]:
            offset += data[offset] + 1
        offset += 1
    return (width, height)


def _orientation(image: ImageFile.ImageFile) -> int:
    """EXIF's orientation from what the header holds (never `getexif`: for a PNG it would
    decode the whole image to look for EXIF after the pixels)."""
    raw = image.info.get("exif")
    if not isinstance(raw, bytes):
        return 1
    exif = Image.Exif()
    try:
        exif.load(raw)
        value = exif.get(_ORIENTATION_TAG, 1)
    except _DECODE_ERRORS:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


# -- shaping ----------------------------------------------------------------------------


def _shaped(image: Image.Image, plan: Plan, params: ImageParams, image_format: str) -> Image.Image:
    fill = _fill(params, image_format)
    if plan.scale is not None:
        image = _then(image, image.resize(plan.scale, Image.Resampling.LANCZOS, reducing_gap=3.0))
    if plan.keep is not None:
        image = _then(image, image.crop(plan.keep))
    if plan.canvas is not None:
        image = _then(image, _padded(image, plan.canvas, fill))
    if params.radius:
        image = _then(image, _rounded(image, params.radius, fill))
    if image_format == "jpg" and image.mode == "RGBA":
        image = _then(image, _flattened(image, fill if fill[3] else _WHITE))
    return image


def _fill(params: ImageParams, image_format: str) -> tuple[int, int, int, int]:
    """What padding and cut corners are filled with: `bg`, else transparency, else
    (a JPEG has none) white."""
    color = params.color()
    if color is not None:
        return (*color, 255)
    return _WHITE if image_format == "jpg" else _CLEAR


def _padded(image: Image.Image, canvas: Size, fill: tuple[int, int, int, int]) -> Image.Image:
    mode = "RGBA" if fill[3] < 255 or image.mode == "RGBA" else "RGB"
    padded = Image.new(mode, canvas, fill if mode == "RGBA" else fill[:3])
    where = ((canvas[0] - image.width) // 2, (canvas[1] - image.height) // 2)
    padded.paste(image, where, image if image.mode == "RGBA" else None)
    return padded


def _rounded(image: Image.Image, radius: int, fill: tuple[int, int, int, int]) -> Image.Image:
    mask = _corner_mask(image.size, radius)
    if fill[3] == 0:  # transparent corners
        image = image.convert("RGBA") if image.mode != "RGBA" else image
        image.putalpha(ImageChops.multiply(image.getchannel("A"), mask))
        return image
    backdrop = Image.new(image.mode, image.size, fill if image.mode == "RGBA" else fill[:3])
    return Image.composite(image, backdrop, mask)


def _corner_mask(size: Size, radius: int) -> Image.Image:
    """White inside the rounded rectangle (an ellipse for ELLIPSE), black outside, edges
    smoothed by drawing it up to 4 times finer and scaling it down."""
    fine = max(1, min(4, int((_MASK_PIXELS / (size[0] * size[1])) ** 0.5)))
    mask = Image.new("L", (size[0] * fine, size[1] * fine), 0)
    draw = ImageDraw.Draw(mask)
    box = (0, 0, mask.width - 1, mask.height - 1)
    if radius == ELLIPSE:
        draw.ellipse(box, fill=255)
    else:
        corner = min(radius, size[0] // 2, size[1] // 2) * fine
        draw.rounded_rectangle(box, radius=corner, fill=255)
    return mask.resize(size, Image.Resampling.BOX) if fine > 1 else mask


def _flattened(image: Image.Image, fill: tuple[int, int, int, int]) -> Image.Image:
    backdrop = Image.new("RGB", image.size, fill[:3])
    backdrop.paste(image, (0, 0), image)
    return backdrop


# -- encoding ---------------------------------------------------------------------------


def _encoded(image: Image.Image, image_format: str, params: ImageParams, icc: Any) -> bytes:
    quality = params.quality or DEFAULT_QUALITY
    options: dict[str, Any] = {}
    if image_format == "jpg":
        image = _then(image, image.convert("RGB")) if image.mode != "RGB" else image
        options = {"quality": quality, "progressive": params.flag == "progressive"}
    elif image_format == "png" and params.flag == "png8":
        image = _then(image, _palette(image, params.quality))
    elif image_format in ("webp", "avif"):
        options = {"quality": quality}
    if isinstance(icc, bytes) and image.mode in ("RGB", "RGBA") and image_format != "gif":
        options["icc_profile"] = icc
    out = io.BytesIO()
    image.save(out, format=_SAVE_AS[image_format], **options)
    return out.getvalue()


def _palette(image: Image.Image, quality: int | None) -> Image.Image:
    """An 8-bit palette image: 256 colours, or fewer for a lower `q` (Contentful says `q`
    applies to PNG8 without saying how; here it scales the number of colours)."""
    colors = 256 if quality is None else max(2, round(256 * quality / 100))
    method = Image.Quantize.FASTOCTREE if image.mode == "RGBA" else Image.Quantize.MEDIANCUT
    return image.quantize(colors, method=method)
