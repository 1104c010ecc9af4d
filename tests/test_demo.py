"""mirror demo: the README's first command."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import requests
from PIL import Image

from tests.conftest import commit_count, git, mirror
from tests.serving import serving


def test_demo_leaves_a_repository_with_one_commit_per_round(tmp_path: Path) -> None:
    target = tmp_path / "travel-guide"
    result = mirror("demo", str(target))
    assert result.exit_code == 0, result.stderr
    assert commit_count(target) == 5
    subjects = git(target, "log", "--reverse", "--format=%s").splitlines()
    assert subjects == [  # with the asset files (+13 in round 0)
        "sync wayfarer/master: +73 ~0 -0",
        "sync wayfarer/master: +0 ~7 -0",
        "sync wayfarer/master: +4 ~3 -0",
        "sync wayfarer/master: +1 ~4 -4",
        "sync wayfarer/master: +5 ~3 -3",
    ]
    assert git(target, "status", "--porcelain") == ""
    assert "git -C" in result.stdout and "log -p" in result.stdout
    for number in range(5):
        assert f"round {number}:" in result.stdout
    patch = git(target, "log", "-p", "-1", "--", "entries/guide/guide-river-cities.json")
    assert '+      "fr-FR": "Quatre villes fluviales en dix jours"' in patch


def test_demo_inside_another_repository_keeps_its_commits_to_itself(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    result = mirror("demo", str(tmp_path / "travel-guide"))
    assert result.exit_code == 0, result.stderr
    assert commit_count(tmp_path / "travel-guide") == 5
    assert commit_count(tmp_path) == 0
    assert (tmp_path / "travel-guide" / ".git").is_dir()


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "something").write_text("x")
    result = mirror("demo", str(tmp_path))
    assert result.exit_code == 2
    assert "not empty" in result.stderr
    assert not (tmp_path / ".git").exists()


def test_the_graphql_query_the_demo_prints_answers_with_an_image_that_loads(
    tmp_path: Path,
) -> None:
    target = tmp_path / "travel-guide"
    result = mirror("demo", str(target))
    assert result.exit_code == 0, result.stderr
    assert f"mirror serve {target} --port 8000" in result.stdout
    url = re.search(r"curl -s (\S+)", result.stdout)
    body = re.search(r"-d '(.+)'", result.stdout)
    assert url and body
    with serving(target) as server:
        address = url.group(1).replace("http://127.0.0.1:8000", server.base_url)
        answer = requests.post(address, json=json.loads(body.group(1)), timeout=30).json()
        city = answer["data"]["city"]
        assert city["name"] == "Porto" and len(city["highlightsCollection"]["items"]) == 3
        image = requests.get(city["heroImage"]["url"], timeout=30)
    assert city["heroImage"]["url"].endswith("?w=320&fm=webp")
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(image.content)).format == "WEBP"
