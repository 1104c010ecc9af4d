"""The Images API's query parameters: read from a request (`parse_params`), written back
in one normal form (`ImageParams.query`, which also keys the cache), and made from
GraphQL's `ImageTransformOptions` (`transform_query`), so that `url(transform: …)` and a
hand-written `?w=…` name the same result.

Parameters and ranges as Contentful's Images API reference gives them: `w` and `h` 1 to
4000 pixels, `q` 1 to 100, `r` a radius in pixels or `max`, `fit` pad|fill|scale|crop|thumb,
`f` a focus area, `bg` `rgb:` and six hex digits, `fm` jpg|png|webp|gif|avif|tiff, `fl`
progressive|png8. A value out of range or unknown is refused with an error naming the
parameter and what it may be; parameters of other names are ignored (a `?v=2` cache buster
changes nothing); of a parameter given twice the last counts.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

MAX_DIMENSION = 4000  # w and h: the Images API refuses 4001
MAX_RADIUS = 4000  # our bound on r (the API names none); a radius past half a side is that half
ELLIPSE = -1  # ImageParams.radius of `r=max` (GraphQL's cornerRadius -1)
FITS = ("pad", "fill", "scale", "crop", "thumb")
FOCI = (
    "center",
    "top",
    "right",
    "left",
    "bottom",
    "top_right",
    "top_left",
    "bottom_right",
    "bottom_left",
    "face",
    "faces",
)
FORMATS = ("jpg", "png", "webp", "gif", "avif", "tiff")
FLAGS = ("progressive", "png8")

_WHOLE = re.compile(r"^[0-9]{1,9}$")
_DECIMAL = re.compile(r"^[0-9]{1,9}(?:\.[0-9]{0,9})?$")  # w and h are doubles in the reference
_COLOR = re.compile(r"^rgb:([0-9A-Fa-f]{6})$")
_SHOWN = 40  # characters of a refused value repeated in the error

# GraphQL's ImageTransformOptions (shared/GRAPHQL.md; the schemas in shared/conformance).
_GRAPHQL_FORMATS = {
    "JPG": ("jpg", None),
    "JPG_PROGRESSIVE": ("jpg", "progressive"),
    "PNG": ("png", None),
    "PNG8": ("png", "png8"),
    "WEBP": ("webp", None),
    "AVIF": ("avif", None),
}
_GRAPHQL_FIELDS = (
    "width",
    "height",
    "quality",
    "cornerRadius",
    "resizeStrategy",
    "resizeFocus",
    "backgroundColor",
    "format",
)


class ImageRefused(Exception):
    """A request for an image that is refused; `status` and `code` are its HTTP answer's."""

    status = 400
    code = "BadRequest"


class ImageParamError(ImageRefused, ValueError):
    """An Images API parameter out of range or of an unknown value; `parameter` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


def _refused(parameter: str, value: object, allowed: str) -> ImageParamError:
    shown = "".join(c if c.isprintable() else "?" for c in str(value)[:_SHOWN])
    shown += "…" if len(str(value)) > _SHOWN else ""
    return ImageParamError(
        parameter, f"{parameter}={shown} is not allowed: {parameter} must be {allowed}"
    )


@dataclass(frozen=True)
class ImageParams:
    """What a request asks of an image; None: that parameter was not given."""

    width: int | None = None
    height: int | None = None
    quality: int | None = None
    radius: int | None = None  # pixels, or ELLIPSE
    fit: str | None = None  # None: the default, fit inside w by h keeping the aspect ratio
    focus: str | None = None
    background: str | None = None  # six lower-case hex digits
    format: str | None = None  # None: the original's
    flag: str | None = None

    @property
    def empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def query(self) -> str:
        """The parameters in one normal form and order (w h q r fit f bg fm fl), no `?`;
        "" when there are none."""
        radius = "max" if self.radius == ELLIPSE else self.radius
        background = None if self.background is None else f"rgb:{self.background}"
        pairs = [
            ("w", self.width),
            ("h", self.height),
            ("q", self.quality),
            ("r", radius),
            ("fit", self.fit),
            ("f", self.focus),
            ("bg", background),
            ("fm", self.format),
            ("fl", self.flag),
        ]
        return "&".join(f"{name}={value}" for name, value in pairs if value is not None)

    def color(self) -> tuple[int, int, int] | None:
        if self.background is None:
            return None
        value = int(self.background, 16)
        return (value >> 16, (value >> 8) & 0xFF, value & 0xFF)


def parse_params(pairs: Iterable[tuple[str, str]]) -> ImageParams:
    """The Images API parameters among a request's query `pairs`; ImageParamError for a
    value out of range or unknown."""
    given = {name: value for name, value in pairs if name in _READERS}
    return ImageParams(
        **{_READERS[name][0]: _READERS[name][1](value) for name, value in given.items()}
    )


def transform_query(transform: Mapping[str, Any]) -> str:
    """The Images API query string (no `?`; "" when nothing applies) of a GraphQL
    `ImageTransformOptions` value, e.g. {"width": 800, "format": "WEBP"} -> "w=800&fm=webp".
    Defaults (FIT, CENTER, cornerRadius 0) and nulls add nothing. ImageParamError (a
    ValueError) names the field of a value out of range."""
    unknown = sorted(set(transform) - set(_GRAPHQL_FIELDS))
    if unknown:
        raise ImageParamError(
            unknown[0],
            f"{unknown[0]} is not a field of ImageTransformOptions; its fields are "
            + ", ".join(_GRAPHQL_FIELDS),
        )
    options = {name: _enum_name(value) for name, value in transform.items() if value is not None}
    params = ImageParams(
        width=_checked_whole("width", options.get("width"), 1, MAX_DIMENSION),
        height=_checked_whole("height", options.get("height"), 1, MAX_DIMENSION),
        quality=_checked_whole("quality", options.get("quality"), 1, 100),
        radius=_corner_radius(options.get("cornerRadius")),
        fit=_graphql_choice("resizeStrategy", options.get("resizeStrategy"), "FIT", FITS),
        focus=_graphql_choice("resizeFocus", options.get("resizeFocus"), "CENTER", FOCI),
        background=_background("backgroundColor", options.get("backgroundColor")),
        **_graphql_format(options.get("format")),
    )
    return params.query()


# -- reading one parameter ----------------------------------------------------------------


def _dimension(name: str) -> Any:
    def read(raw: str) -> int:
        allowed = f"a number of pixels from 1 to {MAX_DIMENSION}"
        if not _DECIMAL.match(raw):
            raise _refused(name, raw, allowed)
        value = round(float(raw))
        if not 1 <= value <= MAX_DIMENSION:
            raise _refused(name, raw, allowed)
        return value

    return read


def _quality(raw: str) -> int:
    if not _WHOLE.match(raw) or not 1 <= int(raw) <= 100:
        raise _refused("q", raw, "a whole number from 1 to 100")
    return int(raw)


def _radius(raw: str) -> int | None:
    if raw.lower() == "max":
        return ELLIPSE
    if not _WHOLE.match(raw) or int(raw) > MAX_RADIUS:
        raise _refused(
            "r", raw, f"a whole number of pixels from 0 to {MAX_RADIUS}, or max (an ellipse)"
        )
    return int(raw) or None  # r=0 rounds nothing: the same result, the same cache entry


def _choice(name: str, allowed: tuple[str, ...]) -> Any:
    def read(raw: str) -> str:
        value = raw.lower()
        if value not in allowed:
            raise _refused(name, raw, f"one of {', '.join(allowed)}")
        return value

    return read


def _background(name: str, raw: str | None) -> str | None:
    if raw is None:
        return None
    match = _COLOR.match(raw) if isinstance(raw, str) else None
    if match is None:
        raise _refused(name, raw, "rgb: and six hex digits, as rgb:ff8000")
    return match.group(1).lower()


_READERS: dict[str, tuple[str, Any]] = {
    "w": ("width", _dimension("w")),
    "h": ("height", _dimension("h")),
    "q": ("quality", _quality),
    "r": ("radius", _radius),
    "fit": ("fit", _choice("fit", FITS)),
    "f": ("focus", _choice("f", FOCI)),
    "bg": ("background", lambda raw: _background("bg", raw)),
    "fm": ("format", _choice("fm", FORMATS)),
    "fl": ("flag", _choice("fl", FLAGS)),
}


# -- GraphQL's ImageTransformOptions --------------------------------------------------------


def _enum_name(value: Any) -> Any:
    return value.name if isinstance(value, enum.Enum) else value


def _checked_whole(
    name: str, value: Any, low: int, high: int, allowed: str | None = None
) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _refused(name, value, allowed or f"a whole number from {low} to {high}")
    return value


def _corner_radius(value: Any) -> int | None:
    if value is None or value == 0:
        return None
    if value == -1:
        return ELLIPSE
    allowed = f"-1 (a full circle or ellipse) or a whole number of pixels up to {MAX_RADIUS}"
    return _checked_whole("cornerRadius", value, 0, MAX_RADIUS, allowed)


def _graphql_choice(name: str, value: Any, default: str, allowed: tuple[str, ...]) -> str | None:
    if value is None or value == default:
        return None
    names = [choice.upper() for choice in allowed]
    if not isinstance(value, str) or value not in names:
        raise _refused(name, value, f"one of {', '.join([default, *names])}")
    return value.lower()


def _graphql_format(value: Any) -> dict[str, str | None]:
    if value is None:
        return {}
    if not isinstance(value, str) or value not in _GRAPHQL_FORMATS:
        raise _refused("format", value, f"one of {', '.join(_GRAPHQL_FORMATS)}")
    image_format, flag = _GRAPHQL_FORMATS[value]
    return {"format": image_format, "flag": flag}
