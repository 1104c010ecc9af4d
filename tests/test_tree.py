"""The tree refuses unsafe ids even if one got past the schemas."""

from __future__ import annotations

from pathlib import Path

import pytest

from mirror.client.tree import MirrorTree, asset_path, content_type_path, entry_path
from mirror.errors import InvalidData


@pytest.mark.parametrize("bad", ["..", ".", "../x", "a/b", "", "a\\b", "x" * 65, None, 3])
def test_unsafe_ids_never_become_paths(bad: object) -> None:
    for make in (
        lambda: entry_path("city", bad),
        lambda: entry_path(bad, "x"),
        lambda: asset_path(bad),
        lambda: content_type_path(bad),
    ):
        with pytest.raises(InvalidData):
            make()


def test_paths_are_what_the_layout_promises() -> None:
    assert entry_path("city", "lisbon") == "entries/city/lisbon.json"
    assert asset_path("a.b_c-d") == "assets/a.b_c-d.json"
    assert content_type_path("city") == "content_types/city.json"


def test_write_reports_new_changed_and_same(tmp_path: Path) -> None:
    tree = MirrorTree(tmp_path)
    assert tree.write("entries/city/x.json", b"1\n") == ("+", None)
    assert tree.write("entries/city/x.json", b"1\n") == (None, b"1\n")
    assert tree.write("entries/city/x.json", b"2\n") == ("~", b"1\n")
    assert tree.find_entry("x") == "entries/city/x.json"
    assert tree.remove("entries/city/x.json") == b"2\n"
    assert tree.remove("entries/city/x.json") is None
    assert tree.find_entry("x") is None


def test_changed_fields_name_fields_and_locales() -> None:
    from mirror.client.round import changed_fields

    old = (
        b'{"fields": {"title": {"en-US": "A", "de-DE": "B"}, "rating": {"en-US": 1}, '
        b'"tip": {"en-US": "x"}}}'
    )
    new = {
        "fields": {
            "title": {"en-US": "A", "de-DE": "C"},
            "rating": {"en-US": 2},
            "tags": {"en-US": ["a"]},
        }
    }
    assert changed_fields(old, new) == ("rating", "+tags", "-tip", "title[de-DE]")
