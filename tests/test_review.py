"""mirror status, log and verify, on real mirrors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import git, mirror, recording
from tests.replay import ReplayServer, replay_sync_args


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("demo") / "guide"
    assert mirror("demo", str(folder)).exit_code == 0
    yield folder


@pytest.fixture
def copy(demo: Path, tmp_path: Path) -> Path:
    """A clone of the demo mirror that a test may damage."""
    git(tmp_path, "clone", "-q", str(demo), "guide")
    return tmp_path / "guide"


def _commit(folder: Path, message: str) -> None:
    git(folder, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", message)


def test_status_says_where_the_mirror_stands(demo: Path) -> None:
    facts = json.loads(mirror("status", str(demo), "--json").stdout)
    assert (facts["space"], facts["environment"], facts["round"]) == ("wayfarer", "master", 5)
    assert facts["entries_per_content_type"] == {"author": 4, "city": 9, "guide": 5, "place": 26}
    assert facts["assets"] == 13 and facts["clean"] is True
    # counts are of files: the demo downloads asset files too
    assert facts["last_round"]["added"] == 5 and facts["last_round"]["deleted"] == 3
    text = mirror("status", str(demo)).stdout
    assert "round 5" in text and "working tree: clean" in text


def test_status_sees_uncommitted_changes(copy: Path) -> None:
    (copy / "entries/city/porto.json").write_text("{}\n")
    assert json.loads(mirror("status", str(copy), "--json").stdout)["clean"] is False


def test_commands_refuse_a_folder_that_is_not_a_mirror(tmp_path: Path) -> None:
    for command in ("status", "log", "verify"):
        result = mirror(command, str(tmp_path))
        assert result.exit_code == 2
        assert "is not a mirror" in result.stderr
    assert not (tmp_path / ".git").exists()


def test_log_lists_rounds_with_counts_and_tokens(demo: Path) -> None:
    rounds = json.loads(mirror("log", str(demo), "--json").stdout)
    assert [(r["added"], r["changed"], r["deleted"]) for r in rounds] == [
        (5, 3, 3),
        (1, 4, 4),
        (4, 3, 0),
        (0, 7, 0),
        (73, 0, 0),
    ]
    state = json.loads((demo / "mirror.json").read_text())
    assert rounds[0]["token"] == state["sync_token"]
    assert rounds[0]["commit"] == git(demo, "rev-parse", "HEAD").strip()
    lines = mirror("log", str(demo)).stdout.splitlines()
    assert len(lines) == 5 and "+5 ~3 -3" in lines[0]


def test_verify_passes_the_demo_and_reports_the_dangling_link(demo: Path) -> None:
    result = mirror("verify", str(demo))
    assert result.exit_code == 0, result.stdout
    assert "links to Asset alfama-walk-route" in result.stdout
    assert (
        "consistent: 13 assets, 44 entries checked, 0 problems, 0 warnings, 1 dangling link"
        in result.stdout
    )
    strict = mirror("verify", str(demo), "--strict", "--json")
    assert strict.exit_code == 6
    assert json.loads(strict.stdout)["consistent"] is False


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (
            lambda f: _edit(
                f / "entries/place/porto-serralves-park.json",
                lambda d: d["fields"]["rating"].update({"en-US": "high"}),
            ),
            "fields.rating.en-US: must be a number",
        ),
        (
            lambda f: _edit(
                f / "entries/author/author-kenji.json", lambda d: d["fields"].pop("name")
            ),
            "fields.name: required",
        ),
        (
            lambda f: _edit(
                f / "entries/city/porto.json", lambda d: d["fields"]["name"].update({"xx-XX": "?"})
            ),
            "unknown locale",
        ),
        (
            lambda f: _edit(
                f / "entries/city/porto.json", lambda d: d["sys"].update({"id": "lisbon"})
            ),
            "holds entry 'lisbon'",
        ),
        (
            lambda f: _edit(f / "assets/porto-hero.json", lambda d: d["sys"].update({"id": ".."})),
            "assets/porto-hero.json: sys/id",
        ),
        (
            lambda f: _edit(f / "mirror.json", lambda d: d.update({"sync_token": "other"})),
            "not the last commit's Sync-Token",
        ),
        (
            lambda f: git(f, "mv", "entries/place/porto-serralves-park.json", "entries/city/"),
            "is an entry of 'place'",
        ),
    ],
)
def test_verify_finds_what_is_wrong(copy: Path, damage: object, says: str) -> None:
    damage(copy)  # type: ignore[operator]
    _commit(copy, "damage")
    result = mirror("verify", str(copy))
    assert result.exit_code == 6
    assert says in result.stdout
    assert "NOT consistent" in result.stdout


def test_verify_reports_uncommitted_changes(copy: Path) -> None:
    (copy / "entries/city/porto.json").write_text("{}\n")
    result = mirror("verify", str(copy))
    assert result.exit_code == 6 and "uncommitted changes" in result.stdout


def _edit(path: Path, change: object) -> None:
    data = json.loads(path.read_text())
    change(data)  # type: ignore[operator]
    path.write_text(json.dumps(data, indent=2) + "\n")


def test_a_mirror_of_real_contentful_data_verifies(tmp_path: Path) -> None:
    exchanges = recording("cfexampleapi-initial-then-empty-delta")["exchanges"]
    with ReplayServer(exchanges) as server:
        result = mirror(*replay_sync_args(server, tmp_path, "cfexampleapi"))
        assert result.exit_code == 0, result.stderr
    verdict = mirror("verify", str(tmp_path), "--json")
    report = json.loads(verdict.stdout)
    assert report["problems"] == [], report["problems"]
    assert report["checked"] == {"entries": 10, "assets": 4}
    assert verdict.exit_code == 0
