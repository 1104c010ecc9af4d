"""Comparing stored values with the strings of a query: typed equality, ranges,
word matching and geometry. Every test takes the stored value (MISSING when the
item has none) and answers whether the item passes."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from mirror.delivery.answers import invalid_value
from mirror.delivery.localize import MISSING

Test = Callable[[Any], bool]

# Kinds of values a path holds: how a query string is read to compare with them.
STRING, NUMBER, DATE, BOOLEAN, LOCATION, TEXT, AUTO = (
    "string",
    "number",
    "date",
    "boolean",
    "location",
    "text",
    "auto",
)
_INSTANT = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?"
    r"(Z|[+-]\d\d:?\d\d)?$"
)
_WORD = re.compile(r"\w+", re.UNICODE)
_EARTH_RADIUS_KM = 6371.0088


def instant(text: str) -> datetime | None:
    """An ISO 8601 date or date-time as an aware instant (UTC when no offset)."""
    match = _INSTANT.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    zone = timezone.utc
    if offset and offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            zone,
        )
    except ValueError:
        return None


def comparable(value: Any, kind: str) -> Any:
    """A stored value in the form query values of `kind` compare with (None: cannot)."""
    if kind == DATE:
        return instant(value) if isinstance(value, str) else None
    if kind == NUMBER:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return value if ok else None
    if kind == BOOLEAN:
        return value if isinstance(value, bool) else None
    if kind in (STRING, TEXT):
        return value if isinstance(value, str) else None
    return value


def read(text: str, kind: str, key: str) -> Any:
    """A query string as a value of `kind`; 400 InvalidQuery when it cannot be."""
    if kind == DATE:
        value: Any = instant(text)
    elif kind == NUMBER:
        value = _number(text)
    elif kind == BOOLEAN:
        value = {"true": True, "false": False}.get(text)
    else:
        value = text
    if value is None:
        raise invalid_value(key, f"The value {text!r} does not fit a {kind} field")
    return value


def auto_kind(value: Any) -> str:
    """The kind of an untyped stored value (nested objects, sys)."""
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, (int, float)):
        return NUMBER
    return STRING


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def elements(value: Any) -> list[Any]:
    """A stored value as the list of what equality looks at (an Array: its elements)."""
    if value is MISSING or value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def equals_any(kind: str, texts: list[str], key: str) -> Test:
    """Passes when some element of the stored value equals one of `texts`."""
    if kind == AUTO:
        wanted = {tagged for text in texts for tagged in _auto_tags(text)}
        return lambda value: any(_tag(element) in wanted for element in elements(value))
    if kind == STRING:
        return _equals_text(set(texts))
    wanted = {_tag(read(text, kind, key)) for text in texts}
    return lambda value: any(
        _tag(comparable(element, kind)) in wanted for element in elements(value)
    )


def _equals_text(wanted: set[str]) -> Test:
    """equals_any for text, the common case, without tagging every value."""

    def test(value: Any) -> bool:
        if isinstance(value, str):
            return value in wanted
        if isinstance(value, list):
            return any(isinstance(element, str) and element in wanted for element in value)
        return False

    return test


def _tag(value: Any) -> tuple[str, Any]:
    """A value that compares equal only to values of its own kind (True is not 1)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", float(value))
    if isinstance(value, (str, datetime)):
        return ("s" if isinstance(value, str) else "d", value)
    return ("o", repr(value))


def _auto_tags(text: str) -> list[tuple[str, Any]]:
    """What a query string may equal when the stored kind is not known in advance."""
    tags = [_tag(text)]
    number = _number(text)
    if number is not None:
        tags.append(_tag(number))
    if text in ("true", "false"):
        tags.append(_tag(text == "true"))
    return tags


def contains_all(kind: str, texts: list[str], key: str) -> Test:
    tests = [equals_any(kind, [text], key) for text in texts]
    return lambda value: value is not MISSING and all(test(value) for test in tests)


def exists(text: str, key: str) -> Test:
    wanted = read(text, BOOLEAN, key)
    return lambda value: (value is not MISSING and value is not None) == wanted


def in_range(operator: str, kind: str, text: str, key: str) -> Test:
    """[lt] [lte] [gt] [gte] on numbers and dates."""
    if kind == AUTO:
        kind = DATE if instant(text) is not None else NUMBER
    if kind not in (NUMBER, DATE):
        raise invalid_value(key, f"{operator} applies to numbers and dates only")
    bound = read(text, kind, key)
    compare: dict[str, Callable[[Any], bool]] = {
        "lt": lambda v: bool(v < bound),
        "lte": lambda v: bool(v <= bound),
        "gt": lambda v: bool(v > bound),
        "gte": lambda v: bool(v >= bound),
    }
    check = compare[operator]

    def test(value: Any) -> bool:
        found = comparable(value, kind) if value is not MISSING else None
        return found is not None and check(found)

    return test


def words(value: Any) -> set[str]:
    """Lower-case words of a string, of strings in a list, of a rich text document."""
    found: set[str] = set()
    if isinstance(value, str):
        found.update(word.lower() for word in _WORD.findall(value))
    elif isinstance(value, list):
        for element in value:
            found |= words(element)
    elif isinstance(value, dict):
        if isinstance(value.get("value"), str):
            found |= words(value["value"])
        found |= words(value.get("content") or [])
    return found


def matches(text: str) -> Test:
    """[match]: every word of `text` is a word of the value (case-insensitive)."""
    wanted = words(text)
    return lambda value: value is not MISSING and bool(wanted) and wanted <= words(value)


def point(value: Any) -> tuple[float, float] | None:
    """(lat, lon) of a stored Location."""
    if isinstance(value, dict) and isinstance(value.get("lat"), (int, float)):
        lon = value.get("lon")
        if isinstance(lon, (int, float)):
            return float(value["lat"]), float(lon)
    return None


def coordinates(text: str, counts: tuple[int, ...], key: str) -> list[float]:
    numbers = [_number(part) for part in text.split(",")]
    if len(numbers) not in counts or any(number is None for number in numbers):
        raise invalid_value(key, f"Expected {' or '.join(map(str, counts))} numbers")
    return [number for number in numbers if number is not None]


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2
    h += math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def within(text: str, key: str) -> Test:
    """A bounding box (south-west lat,lon, north-east lat,lon) or a circle (lat,lon,km)."""
    numbers = coordinates(text, (3, 4), key)
    if len(numbers) == 3:
        centre, radius = (numbers[0], numbers[1]), numbers[2]
        return lambda value: (p := point(value)) is not None and distance_km(p, centre) <= radius
    south, west, north, east = numbers

    def inside(value: Any) -> bool:
        p = point(value)
        if p is None:
            return False
        lat, lon = p
        across = west <= lon <= east if west <= east else (lon >= west or lon <= east)
        return south <= lat <= north and across

    return inside
