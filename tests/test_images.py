"""The Images API over `mirror serve DIR`: real image files synced into a mirror from the
emulator, transformed over HTTP, decoded and checked; refusals in Contentful's error shape;
the on-disk cache; and GraphQL's transform options turned into the same query strings."""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import signal
import struct
import subprocess
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from mirror.delivery.server import MirrorServer
from mirror.emulator import Emulator, EmulatorConfig
from mirror.images.cache import ImageCache, cache_key
from mirror.images.geometry import plan_for
from mirror.images.params import ImageParamError, ImageParams, parse_params, transform_query
from tests.conftest import git, sync_json
from tests.serving import Reader, serve_process, serving

RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)
QUADRANTS = "assets/files/quadrants/en-US/quadrants.jpg"


# -- the files ---------------------------------------------------------------------------


def _encoded(image: Image.Image, image_format: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return out.getvalue()


def _quadrants() -> bytes:
    """A 1200x800 JPEG: red, green (top), blue, yellow (bottom) quarters."""
    image = Image.new("RGB", (1200, 800))
    for color, box in zip(
        (RED, GREEN, BLUE, YELLOW),
        ((0, 0, 600, 400), (600, 0, 1200, 400), (0, 400, 600, 800), (600, 400, 1200, 800)),
        strict=True,
    ):
        image.paste(color, box)
    return _encoded(image, "JPEG", quality=95)


def _texture() -> bytes:
    """A 400x300 JPEG of noise: what lossy encoders find hard."""
    return _encoded(Image.effect_noise((400, 300), 60).convert("RGB"), "JPEG", quality=95)


def _large() -> bytes:
    """A 6000x5000 JPEG: 30 megapixels, over the budget unless decoded smaller."""
    return _encoded(Image.new("RGB", (6000, 5000), BLUE), "JPEG", quality=50)


def _badge() -> bytes:
    """A 400x200 PNG, opaque teal but for a transparent band on its right."""
    image = Image.new("RGBA", (400, 200), (0, 128, 128, 255))
    image.paste((0, 0, 0, 0), (350, 0, 400, 200))
    return _encoded(image, "PNG")


def _turned() -> bytes:
    """A 300x200 JPEG whose EXIF says to turn it a quarter: shown 200x300."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return _encoded(Image.new("RGB", (300, 200), GREEN), "JPEG", exif=exif.tobytes())


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_claiming(width: int, height: int, pixels: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(pixels))
        + _png_chunk(b"IEND", b"")
    )


def _webp_claiming(width: int, height: int) -> bytes:
    body = (
        b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    )
    chunk = b"VP8X" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def _gif_claiming(width: int, height: int) -> bytes:
    """A 10x10 GIF (a global colour table, a graphic control extension asking to clear
    the frame) whose first frame says it is width x height."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 10, 10, 0x80, 0, 0) + bytes(6)
    control = b"\x21\xf9\x04\x08\x00\x00\x00\x00"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return screen + control + frame + b"\x3b"


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A real small JPEG with its frame header rewritten to say width x height."""
    data = bytearray(_encoded(Image.new("RGB", (16, 16), RED), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


FILES: dict[str, tuple[str, str, bytes]] = {
    "quadrants": ("quadrants.jpg", "image/jpeg", _quadrants()),
    "badge": ("badge.png", "image/png", _badge()),
    "texture": ("texture.jpg", "image/jpeg", _texture()),
    "large": ("large.jpg", "image/jpeg", _large()),
    "turned": ("turned.jpg", "image/jpeg", _turned()),
    "png-bomb": ("bomb.png", "image/png", _png_claiming(20000, 20000, b"\0" * 64)),
    "webp-bomb": ("bomb.webp", "image/webp", _webp_claiming(9000, 9000)),
    "gif-bomb": ("bomb.gif", "image/gif", _gif_claiming(9000, 9000)),
    "jpeg-bomb": ("bomb.jpg", "image/jpeg", _jpeg_claiming(60000, 60000)),
    "broken": ("broken.png", "image/png", _png_claiming(64, 64, b"\0" * 10)),
}


@pytest.fixture(scope="module")
def mirror_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mirror of the sample space plus the FILES, with --download-assets."""
    directory = tmp_path_factory.mktemp("images")
    with Emulator(EmulatorConfig(round=0)) as emulator:
        for asset_id, (name, media_type, data) in FILES.items():
            upload = f"data:{media_type};base64,{base64.b64encode(data).decode()}"
            file = {"upload": upload, "fileName": name, "contentType": media_type}
            emulator.store.put_asset(
                asset_id, {"title": {"en-US": asset_id}, "file": {"en-US": file}}
            )
        sync_json(emulator, directory, "--download-assets")
    return directory


class Images:
    """`mirror serve` of the mirror, with its request log, and the file URLs it gives."""

    def __init__(self, server: MirrorServer, log: list[str]) -> None:
        self.server = server
        self.log = log
        self.reader = Reader.of(server)
        self.session = requests.Session()

    def url(self, asset_id: str) -> str:
        return "http:" + self.reader.json(f"/assets/{asset_id}")["fields"]["file"]["url"]

    def get(self, asset_id: str, query: str = "") -> requests.Response:
        return self.session.get(self.url(asset_id) + (f"?{query}" if query else ""), timeout=30)

    def image(self, asset_id: str, query: str) -> Image.Image:
        response = self.get(asset_id, query)
        assert response.status_code == 200, response.text
        return Image.open(io.BytesIO(response.content))

    def summary(self, query: str, nth: int = 1) -> str:
        """What the request log says of the `nth` request with `query` (the server
        logs a request after sending its answer: the line may come a moment later)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            lines = [line for line in self.log if f"?{query} " in line]
            if len(lines) >= nth:
                return lines[nth - 1]
            time.sleep(0.01)
        raise AssertionError(f"no {nth}. request with ?{query} in the log")


@pytest.fixture(scope="module")
def images(mirror_dir: Path) -> Iterator[Images]:
    log: list[str] = []
    with serving(mirror_dir, log=log.append) as server:
        yield Images(server, log)


def _near(pixel: Any, color: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(int(a) - int(b)) <= tolerance for a, b in zip(pixel, color, strict=False))


# -- sizes, modes and focus --------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "size"),
    [
        ("w=300", (300, 200)),
        ("h=100", (150, 100)),
        ("w=300&h=300", (300, 200)),
        ("w=300&h=300&fit=pad", (300, 300)),
        ("w=300&h=300&fit=fill", (300, 300)),
        ("w=300&h=300&fit=thumb", (300, 300)),
        ("w=300&h=100&fit=scale", (300, 100)),
        ("w=300&h=300&fit=crop", (300, 300)),
        ("w=4000&h=4&fit=scale", (4000, 4)),
        ("w=2400", (2400, 1600)),  # scaled up too
    ],
)
def test_each_resizing_behaviour_gives_its_size(
    images: Images, query: str, size: tuple[int, int]
) -> None:
    response = images.get("quadrants", query)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/jpeg"
    decoded = Image.open(io.BytesIO(response.content))
    assert (decoded.format, decoded.size) == ("JPEG", size)


@pytest.mark.parametrize(
    ("focus", "color"),
    [("top_left", RED), ("top_right", GREEN), ("bottom_left", BLUE), ("bottom_right", YELLOW)],
)
def test_crop_cuts_the_focus_area_out_of_the_original_unscaled(
    images: Images, focus: str, color: tuple[int, int, int]
) -> None:
    decoded = images.image("quadrants", f"w=500&h=300&fit=crop&f={focus}").convert("RGB")
    assert decoded.size == (500, 300)
    assert all(_near(decoded.getpixel(xy), color) for xy in ((5, 5), (250, 150), (494, 294)))


def test_fill_covers_the_box_and_keeps_the_focus_side(images: Images) -> None:
    left = images.image("quadrants", "w=100&h=400&fit=fill&f=left").convert("RGB")
    right = images.image("quadrants", "w=100&h=400&fit=fill&f=right").convert("RGB")
    assert left.size == right.size == (100, 400)
    assert _near(left.getpixel((50, 50)), RED) and _near(left.getpixel((50, 350)), BLUE)
    assert _near(right.getpixel((50, 50)), GREEN) and _near(right.getpixel((50, 350)), YELLOW)


def test_face_and_faces_fall_back_to_the_center(images: Images) -> None:
    center = images.get("quadrants", "w=100&h=400&fit=thumb").content
    assert images.get("quadrants", "w=100&h=400&fit=thumb&f=face").content == center
    assert images.get("quadrants", "w=100&h=400&fit=thumb&f=faces").content == center


def test_scale_changes_the_aspect_ratio(images: Images) -> None:
    decoded = images.image("quadrants", "w=200&h=200&fit=scale").convert("RGB")
    assert decoded.size == (200, 200)
    corners = [decoded.getpixel(xy) for xy in ((20, 20), (180, 20), (20, 180), (180, 180))]
    assert all(_near(p, c) for p, c in zip(corners, (RED, GREEN, BLUE, YELLOW), strict=True))


def test_pad_fills_the_rest_with_the_background_colour(images: Images) -> None:
    decoded = images.image("quadrants", "w=300&h=300&fit=pad&bg=rgb:00ff00").convert("RGB")
    assert decoded.size == (300, 300)
    assert _near(decoded.getpixel((150, 10)), GREEN) and _near(decoded.getpixel((150, 290)), GREEN)
    assert _near(decoded.getpixel((60, 100)), RED)  # the image, 300x200, centered


def test_pad_without_a_colour_is_transparent_where_the_format_allows(images: Images) -> None:
    png = images.image("quadrants", "w=300&h=300&fit=pad&fm=png")
    jpeg = images.image("quadrants", "w=300&h=300&fit=pad").convert("RGB")
    assert png.mode == "RGBA" and png.getpixel((150, 10))[3] == 0
    assert png.getpixel((60, 100))[3] == 255
    assert _near(jpeg.getpixel((150, 10)), (255, 255, 255))


def test_a_turned_photo_is_transformed_as_it_is_shown(images: Images) -> None:
    assert images.image("turned", "w=100").size == (100, 150)


# -- corners, formats, quality -------------------------------------------------------------


def test_rounded_corners_of_a_png_are_transparent(images: Images) -> None:
    decoded = images.image("badge", "r=40")
    assert (decoded.format, decoded.mode) == ("PNG", "RGBA")
    assert decoded.getpixel((0, 0))[3] == 0 and decoded.getpixel((0, 199))[3] == 0
    assert decoded.getpixel((100, 100)) == (0, 128, 128, 255)
    assert decoded.getpixel((45, 2))[3] == 255  # past the corner's curve


def test_rounded_corners_of_a_jpeg_take_white_or_the_background(images: Images) -> None:
    plain = images.image("quadrants", "w=300&r=max").convert("RGB")
    blue = images.image("quadrants", "w=300&r=max&bg=rgb:0000ff").convert("RGB")
    assert _near(plain.getpixel((2, 2)), (255, 255, 255))
    assert _near(blue.getpixel((2, 2)), BLUE)
    assert _near(plain.getpixel((100, 40)), RED)  # inside the ellipse


@pytest.mark.parametrize(
    ("fm", "pillow_format", "media_type"),
    [
        ("webp", "WEBP", "image/webp"),
        ("avif", "AVIF", "image/avif"),
        ("gif", "GIF", "image/gif"),
        ("png", "PNG", "image/png"),
        ("jpg", "JPEG", "image/jpeg"),
        ("tiff", "TIFF", "image/tiff"),
    ],
)
def test_each_format_is_encoded_and_labelled(
    images: Images, fm: str, pillow_format: str, media_type: str
) -> None:
    response = images.get("badge", f"w=200&fm={fm}")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == media_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    decoded = Image.open(io.BytesIO(response.content))
    assert (decoded.format, decoded.size) == (pillow_format, (200, 100))


def test_progressive_jpeg_on_request_only(images: Images) -> None:
    progressive = images.image("quadrants", "w=300&fm=jpg&fl=progressive")
    baseline = images.image("quadrants", "w=300&fm=jpg")
    assert progressive.info.get("progressive") == 1
    assert "progressive" not in baseline.info


def test_png8_is_a_palette_image_and_quality_reduces_its_colours(images: Images) -> None:
    full = images.image("quadrants", "w=300&fm=png&fl=png8")
    few = images.image("quadrants", "w=300&fm=png&fl=png8&q=2")
    assert (full.format, full.mode) == ("PNG", "P")
    assert len(full.getcolors(256) or []) <= 256
    assert few.mode == "P" and len(few.getcolors(256) or []) <= 6


def test_quality_changes_the_bytes_of_a_lossy_format(images: Images) -> None:
    low = images.get("texture", "fm=webp&q=5").content
    high = images.get("texture", "fm=webp&q=95").content
    assert len(low) < len(high)


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("w=4001", "w"),
        ("h=4001", "h"),
        ("w=0", "w"),
        ("w=-5", "w"),
        ("h=tall", "h"),
        ("fit=stretch", "fit"),
        ("f=middle", "f"),
        ("fm=bmp", "fm"),
        ("fl=interlaced", "fl"),
        ("q=0", "q"),
        ("q=101", "q"),
        ("r=-3", "r"),
        ("bg=red", "bg"),
        ("bg=rgb:12345", "bg"),
    ],
)
def test_out_of_range_or_unknown_values_are_refused_naming_the_parameter(
    images: Images, query: str, parameter: str
) -> None:
    response = images.get("quadrants", query)
    assert response.status_code == 400
    body = response.json()
    assert body["sys"] == {"type": "Error", "id": "BadRequest"}
    assert body["message"].startswith(f"{parameter}=")
    assert f"{parameter} must be" in body["message"]


def test_an_avif_over_nine_megapixels_is_refused_before_decoding(images: Images) -> None:
    response = images.get("quadrants", "w=4000&h=4000&fit=scale&fm=avif")
    assert response.status_code == 422
    assert response.json()["sys"]["id"] == "ImageTooLarge"


@pytest.mark.parametrize("asset_id", ["png-bomb", "webp-bomb", "gif-bomb", "jpeg-bomb"])
def test_a_decompression_bomb_is_refused_and_still_served_as_it_is(
    images: Images, mirror_dir: Path, asset_id: str
) -> None:
    response = images.get(asset_id, "w=100&fm=png")
    assert response.status_code == 422
    body = response.json()
    assert body["sys"] == {"type": "Error", "id": "ImageTooLarge"}
    assert "megapixels" in body["message"] and "without parameters" in body["message"]
    name = FILES[asset_id][0]
    assert (
        images.get(asset_id).content
        == (mirror_dir / "assets/files" / asset_id / "en-US" / name).read_bytes()
    )


def test_a_large_jpeg_is_decoded_at_a_fraction_when_the_result_is_small(images: Images) -> None:
    assert images.image("large", "w=800").size == (800, 667)
    whole = images.get("large", "fm=png")
    assert whole.status_code == 422
    assert "6000x5000 pixels (30.0 megapixels)" in whole.json()["message"]


def test_an_image_that_cannot_be_decoded_is_refused(images: Images) -> None:
    response = images.get("broken", "w=10")
    assert response.status_code == 422
    assert response.json()["sys"]["id"] == "InvalidImage"


# -- what is not transformed -------------------------------------------------------------------


def test_a_file_that_is_no_image_is_sent_unchanged(images: Images, mirror_dir: Path) -> None:
    committed = (mirror_dir / "assets/files/alfama-walk-route/en-US/alfama-walk.gpx").read_bytes()
    plain = images.get("alfama-walk-route")
    for query in ("w=100&fm=webp", "w=99999&fit=nonsense"):
        response = images.get("alfama-walk-route", query)
        assert response.status_code == 200
        assert response.content == committed
        assert response.headers["Content-Type"] == plain.headers["Content-Type"]


def test_without_image_parameters_the_file_is_sent_byte_for_byte(
    images: Images, mirror_dir: Path
) -> None:
    committed = subprocess.run(
        ["git", "-C", str(mirror_dir), "cat-file", "blob", f"HEAD:{QUADRANTS}"],
        capture_output=True,
        check=True,
    ).stdout
    plain = images.get("quadrants")
    others = images.get("quadrants", "v=3&utm_source=x")
    assert plain.content == others.content == committed == FILES["quadrants"][2]
    assert plain.headers["Content-Type"] == others.headers["Content-Type"] == "image/jpeg"
    assert "image" not in images.summary("v=3&utm_source=x").split(" 200 ", 1)[1]


# -- the cache -----------------------------------------------------------------------------


def _cache_folder(mirror_dir: Path) -> Path:
    return mirror_dir / ".git/mirror/root/images"


def test_a_second_request_comes_from_the_cache_unchanged(images: Images, mirror_dir: Path) -> None:
    first = images.get("quadrants", "w=321&fm=webp")
    assert "image transformed" in images.summary("w=321&fm=webp")
    entries = [p for p in _cache_folder(mirror_dir).iterdir() if p.suffix == ".webp"]
    held = {p.name: p.stat().st_ino for p in entries}
    second = images.get("quadrants", "w=321&fm=webp")
    assert "image from cache" in images.summary("w=321&fm=webp", nth=2)
    assert second.content == first.content and second.status_code == 200
    assert {p.name: p.stat().st_ino for p in entries} == held  # nothing written again
    assert git(mirror_dir, "status", "--porcelain") == ""


def test_one_cache_entry_whatever_the_order_and_case_of_the_parameters(
    images: Images, mirror_dir: Path
) -> None:
    first = images.get("quadrants", "fm=webp&w=322")
    again = images.get("quadrants", "w=322&v=9&fm=WEBP")
    assert "image from cache" in images.summary("w=322&v=9&fm=WEBP")
    assert again.content == first.content
    names = [p.name for p in _cache_folder(mirror_dir).iterdir()]
    assert all(len(name.split(".")[0]) == 64 for name in names)


def test_graphql_transform_options_name_the_same_image(images: Images) -> None:
    query = transform_query(
        {"width": 323, "height": 200, "resizeStrategy": "FILL", "format": "WEBP", "quality": 70}
    )
    assert query == "w=323&h=200&q=70&fit=fill&fm=webp"
    by_hand = images.get("quadrants", "fm=webp&fit=fill&q=70&h=200&w=323")
    from_graphql = images.get("quadrants", query)
    assert "image from cache" in images.summary(query)
    assert from_graphql.content == by_hand.content


def test_the_cache_keeps_within_its_size_and_drops_the_least_recently_used(
    tmp_path: Path,
) -> None:
    cache = ImageCache(tmp_path / "images", max_bytes=1000)
    keys = [cache_key(f"{n:040x}", "w=1") for n in range(4)]
    for age, key in enumerate(keys[:3]):
        assert cache.put(key, "png", bytes(300))
        os.utime(cache.path(key, "png"), (1_000_000 + age, 1_000_000 + age))
    assert cache.get(keys[0], "png") == bytes(300)  # used now: the last to go
    assert cache.put(keys[3], "png", bytes(300))  # 1200 bytes: over the bound
    kept = {p.name.split(".")[0] for p in (tmp_path / "images").iterdir()}
    assert kept == {keys[0], keys[2], keys[3]}
    with pytest.raises(ValueError):
        cache.path("../../escape", "png")


def test_a_cache_that_cannot_be_written_still_answers(tmp_path: Path) -> None:
    (tmp_path / "images").write_text("a file where the folder should be")
    cache = ImageCache(tmp_path / "images")
    assert cache.put(cache_key("0" * 40, "w=1"), "png", b"data") is False
    assert cache.get(cache_key("0" * 40, "w=1"), "png") is None


# -- requests that name no file --------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/files/..%2f..%2f..%2fmirror.json/en-US/x?w=10",
        "/files/quadrants/..%2f..%2f/mirror.json?w=10&fm=png",
        "/files/quadrants/en-US/..%2f..%2f..%2f..%2fmirror.json?w=10",
        "/files/quadrants/en-US/%2e%2e?fm=webp",
        "/files/quadrants/en-US/quadrants.jpg%00.json?w=10",
        "/files/quadrants/en-US/..%2f..%2f.git%2fconfig?w=10",
    ],
)
def test_paths_with_parameters_never_name_a_file(
    images: Images, mirror_dir: Path, path: str
) -> None:
    before = sorted(p.name for p in _cache_folder(mirror_dir).glob("*"))
    connection = http.client.HTTPConnection("127.0.0.1", images.server.port, timeout=10)
    connection.request("GET", path)  # as written: no client folds the dots away
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    assert response.status == 404
    assert body["sys"] == {"type": "Error", "id": "NotFound"}
    assert sorted(p.name for p in _cache_folder(mirror_dir).glob("*")) == before


# -- parameters and GraphQL, without a server ------------------------------------------------


@pytest.mark.parametrize(
    ("options", "query"),
    [
        ({}, ""),
        ({"width": None, "resizeStrategy": "FIT", "resizeFocus": "CENTER"}, ""),
        ({"cornerRadius": 0}, ""),
        ({"width": 800, "format": "WEBP"}, "w=800&fm=webp"),
        ({"format": "JPG_PROGRESSIVE"}, "fm=jpg&fl=progressive"),
        ({"format": "PNG8", "quality": 50}, "q=50&fm=png&fl=png8"),
        ({"cornerRadius": -1, "backgroundColor": "rgb:FF8000"}, "r=max&bg=rgb:ff8000"),
        (
            {"height": 10, "width": 20, "resizeStrategy": "THUMB", "resizeFocus": "TOP_LEFT"},
            "w=20&h=10&fit=thumb&f=top_left",
        ),
        ({"cornerRadius": 12, "resizeStrategy": "PAD"}, "r=12&fit=pad"),
        ({"format": "AVIF", "resizeStrategy": "SCALE"}, "fit=scale&fm=avif"),
    ],
)
def test_transform_query_writes_the_images_api_parameters(
    options: dict[str, Any], query: str
) -> None:
    assert transform_query(options) == query
    assert parse_params(_pairs(query)).query() == query


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"width": 4001}, "width"),
        ({"height": 0}, "height"),
        ({"quality": 101}, "quality"),
        ({"cornerRadius": -2}, "cornerRadius"),
        ({"format": "GIF"}, "format"),
        ({"resizeStrategy": "STRETCH"}, "resizeStrategy"),
        ({"backgroundColor": "#ffffff"}, "backgroundColor"),
        ({"resizingBehavior": "PAD"}, "resizingBehavior"),
    ],
)
def test_transform_query_refuses_values_out_of_range(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ImageParamError) as refused:
        transform_query(options)
    assert refused.value.parameter == field and field in str(refused.value)


def test_a_side_that_follows_the_aspect_ratio_stays_within_4000_pixels() -> None:
    assert plan_for((100, 1000), ImageParams(width=4000)).result((100, 1000)) == (400, 4000)
    assert plan_for((1000, 10), ImageParams(height=400, fit="scale")).result((1000, 10)) == (
        4000,
        40,
    )


def _pairs(query: str) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, _, value in (part.partition("=") for part in query.split("&") if part)
    ]


def test_a_stop_lets_the_answer_being_made_finish(mirror_dir: Path) -> None:
    """SIGTERM to `mirror serve` while it transforms a large image: the answer is
    finished and sent before the process exits, not cut off."""
    with serve_process(str(mirror_dir), "-q") as served:
        reader = Reader(served.facts["base_url"], "wayfarer", "master", "any")
        url = "http:" + reader.json("/assets/texture")["fields"]["file"]["url"]
        query = "?w=4000&h=4000&fit=scale&fm=webp&q=93"  # about a second of work, uncached
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(requests.get, url + query, timeout=60)
            time.sleep(0.3)
            served.process.send_signal(signal.SIGTERM)
            response = answer.result()
        assert served.wait(timeout=60) == 0
    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.content)).size == (4000, 4000)
