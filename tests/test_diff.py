"""mirror diff and mirror log --fields, on real mirrors synced from the emulator over
HTTP: the sample space's rounds, a round of hand-made edits through the write API,
and a synthetic space large enough to need bounds."""

from __future__ import annotations

import copy
import errno
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mirror.emulator import Emulator, EmulatorConfig
from mirror.emulator.synthetic import SyntheticSpace
from tests.conftest import Api, git, mirror, sync_args, sync_json
from tests.serving import synced_rounds


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The sample space synced through its four rounds, asset files kept: 5 commits."""
    folder = tmp_path_factory.mktemp("sample") / "guide"
    with Emulator(EmulatorConfig(round=0)) as emulator:
        synced_rounds(emulator, folder, 4, "--download-assets")
    yield folder


def _link(kind: str, item_id: str) -> dict[str, Any]:
    return {"sys": {"type": "Link", "linkType": kind, "id": item_id}}


def _text(value: str) -> dict[str, Any]:
    return {"nodeType": "text", "value": value, "marks": [], "data": {}}


class Editor:
    """Edits through the emulator's write API, as an editor in Contentful would."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator, self.api = emulator, Api(emulator)

    def fields(self, entry_id: str) -> dict[str, Any]:
        return copy.deepcopy(dict(self.emulator.store.item("Entry", entry_id)["fields"]))

    def put(self, entry_id: str, fields: dict[str, Any], content_type: str = "") -> None:
        headers = {"X-Contentful-Content-Type": content_type} if content_type else None
        response = self.api.write("PUT", "entries", entry_id, {"fields": fields}, headers)
        assert response.status_code in (200, 201), response.text

    def delete(self, entry_id: str) -> None:
        assert self.api.write("DELETE", "entries", entry_id).status_code == 204


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The sample space's initial content, then one round of edits: long text and rich
    text rewritten, a link to an entry that does not exist, a <script> in a title, an
    entry moved to another content type, and the content model changed."""
    folder = tmp_path_factory.mktemp("edited") / "guide"
    with Emulator(EmulatorConfig(round=0)) as emulator:
        sync_json(emulator, folder)
        editor = Editor(emulator)
        _edit_text(editor)
        _edit_links_and_titles(editor)
        _retype(editor)
        _change_model(emulator)
        sync_json(emulator, folder)
    yield folder


def _edit_text(editor: Editor) -> None:
    lisbon = editor.fields("lisbon")
    summary = lisbon["summary"]["en-US"]
    lisbon["summary"]["en-US"] = summary.replace("Seven hills", "Seven steep hills")
    editor.put("lisbon", lisbon)
    guide = editor.fields("guide-lisbon-on-foot")
    body = guide["body"]["en-US"]
    paragraph = body["content"][1]
    paragraph["content"][2] = _text(" and let gravity plan the whole day.")
    items = next(node for node in body["content"] if node["nodeType"] == "unordered-list")
    items["content"].append(
        {"nodeType": "list-item", "data": {}, "content": [_paragraph("Drink from the fountains")]}
    )
    editor.put("guide-lisbon-on-foot", guide)


def _paragraph(value: str) -> dict[str, Any]:
    return {"nodeType": "paragraph", "data": {}, "content": [_text(value)]}


def _edit_links_and_titles(editor: Editor) -> None:
    place = editor.fields("porto-serralves-park")
    place["city"] = {"en-US": _link("Entry", "ghost-city")}
    place["title"]["en-US"] = "Serralves <script>alert(1)</script> park"
    editor.put("porto-serralves-park", place)


def _retype(editor: Editor) -> None:
    """kyoto-nishiki-market becomes a city (same id, another content type)."""
    editor.delete("kyoto-nishiki-market")
    fields = {
        "name": {"en-US": "Nishiki"},
        "location": {"en-US": {"lat": 35.005, "lon": 135.764}},
    }
    editor.put("kyoto-nishiki-market", fields, "city")


def _change_model(emulator: Emulator) -> None:
    space = emulator.store.space
    city = space.content_types["city"]
    city["fields"].append(
        {"id": "website", "name": "Website", "type": "Symbol", "localized": False}
    )
    population = next(f for f in city["fields"] if f["id"] == "population")
    population["type"] = "Number"
    space.locales.append(
        {"code": "es-ES", "name": "Spanish", "fallbackCode": "en-US", "optional": True}
    )


def _diff(*args: str) -> Any:
    return mirror("diff", *args)


def _ok(*args: str) -> str:
    result = _diff(*args)
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


# -- what a report says ------------------------------------------------------------


def test_the_last_round_by_default_field_by_field(sample: Path) -> None:
    text = _ok(str(sample))
    assert text.startswith("wayfarer/master: round 4 → round 5 (")
    assert "9 items: 4 added, 3 changed, 2 deleted; content model: unchanged" in text
    assert "~ changed: Four river cities in ten days (guide-river-cities)\n" in text
    assert (
        "    title [en-US]: Three river cities in a week → Four river cities in ten days\n" in text
    )
    assert "    title [fr-FR]: (none) → Quatre villes fluviales en dix jours\n" in text
    assert "    estimatedDays: 7 → 10\n" in text
    assert "    author: Nino Beridze (author-nino) → Amara Osei (author-amara)\n" in text
    assert "- deleted: Nino Beridze (author-nino)\n" in text
    assert "+ added: Hoi An (hoi-an)\n    name [en-US]: Hoi An\n" in text
    assert "    location: 15.8801, 108.338\n    population: 152160\n" in text


def test_one_revision_means_from_it_to_head(sample: Path) -> None:
    head = git(sample, "rev-parse", "HEAD").strip()
    two_back = git(sample, "rev-parse", "HEAD~2").strip()
    alone = _ok(str(sample), "HEAD~2")
    assert alone == _ok(str(sample), "HEAD~2..HEAD") == _ok(str(sample), "HEAD~2", "HEAD")
    assert alone == _ok(str(sample), "HEAD~2..") == _ok(str(sample), two_back, head)
    assert "round 3 → round 5" in alone
    assert _ok(str(sample), "HEAD~1") == _ok(str(sample))


def test_word_diffs_for_long_text_and_rich_text(edited: Path) -> None:
    text = _ok(str(edited))
    assert "    summary [en-US]: Seven{+ steep+} hills, one river, and trams that" in text
    body = text[text.index("    body [en-US]:\n") :]
    assert body.startswith(
        "    body [en-US]:\n"
        "        …\n"  # the heading before, unchanged
        "        … da Graça (lisbon-miradouro-graca)] and let gravity plan the{+ whole+} day.\n"
        "        …\n"
        "        - Wear shoes with grip{+\n"
        "        - Drink from the fountains+}\n"
        "        …\n"
    )
    markdown = _ok(str(edited), "--format", "markdown")
    assert "Seven<ins> steep</ins> hills, one river" in markdown
    assert "plan the<ins> whole</ins> day.<br>…<br>" in markdown


def test_links_read_as_titles_and_dangling_ones_say_missing(sample: Path, edited: Path) -> None:
    round_3 = _ok(str(sample), "HEAD~2..HEAD~1")
    assert "    attachments: Alfama downhill walk (GPX) (alfama-walk-route) → (none)\n" in round_3
    assert (
        "    highlights: Abanotubani sulphur baths (tbilisi.sulfur-baths), Narikala fortress "
        "(tbilisi-narikala)[-, Dry Bridge market (tbilisi-dry-bridge-market)-]\n"
    ) in round_3
    text = _ok(str(edited))
    assert "    city: Porto (porto) → ghost-city (missing)\n" in text


def test_content_model_changes_come_first(edited: Path) -> None:
    text = _ok(str(edited))
    model = text.index("Content model changes (these can break a build):")
    assert model < text.index("\nentries of ")
    for line in (
        "  locales: locale es-ES added (Spanish, falls back to en-US)\n",
        "  content type city: field website added (Symbol)\n",
        "  content type city: field population retyped: Integer → Number\n",
    ):
        assert line in text
    markdown = _ok(str(edited), "--format", "markdown")
    assert markdown.index("Content model changes") < markdown.index("#### entries of")
    assert "- **content type city**: field website added (Symbol)" in markdown


def test_retyped_items_are_one_item(edited: Path) -> None:
    text = _ok(str(edited))
    assert "* retyped: Nishiki (kyoto-nishiki-market), was place\n" in text
    assert "    name [en-US]: (none) → Nishiki\n" in text
    assert "- deleted: Nishiki market" not in text
    report = json.loads(_ok(str(edited), "--json"))
    retyped = [item for item in report["items"] if item["action"] == "retyped"]
    assert [(i["id"], i["contentType"], i["oldContentType"]) for i in retyped] == [
        ("kyoto-nishiki-market", "city", "place")
    ]


def test_assets_show_file_name_size_dimensions_and_description(sample: Path) -> None:
    text = _ok(str(sample), "HEAD~2..HEAD~1")
    kyoto = text[text.index("~ changed: Kyoto skyline (kyoto-hero)") :]
    assert (
        "    description [en-US]: [-An abstract-]{+The+} skyline{+ in autumn colours+}, "
        "[-drawn-]{+redrawn+} for the sample space.\n"
    ) in kyoto
    assert "    file name [en-US]: kyoto-skyline.png → kyoto-skyline-autumn.png\n" in kyoto
    assert "    size [en-US]: 1.3 KB (1,292 bytes) → 1.2 KB (1,238 bytes)\n" in kyoto
    assert (
        "    dimensions [en-US]: 112\N{MULTIPLICATION SIGN}68 → 120\N{MULTIPLICATION SIGN}72\n"
        in kyoto
    )


def test_stat_counts_per_content_type(sample: Path) -> None:
    text = _ok(str(sample), "--stat")
    assert text.splitlines()[3:] == [
        "content type    added  changed  deleted",
        "author              0        0        1",
        "city                1        0        0",
        "guide               0        3        0",
        "place               2        0        0",
        "(assets)            1        0        1",
    ]
    counts = json.loads(_ok(str(sample), "--stat", "--json"))
    assert "items" not in counts and counts["total_items"] == 9
    assert {c["group"]: c["added"] for c in counts["counts"]} == {
        "author": 0,
        "city": 1,
        "guide": 0,
        "place": 2,
        "assets": 1,
    }


def test_json_holds_the_same_structure_for_tools(sample: Path, edited: Path) -> None:
    report = json.loads(_ok(str(sample), "--json"))
    assert report == json.loads(_ok(str(sample), "--format", "json"))
    assert report["new"]["commit"] == git(sample, "rev-parse", "HEAD").strip()
    assert report["old"]["round"] == 4 and report["new"]["round"] == 5
    guide = next(item for item in report["items"] if item["id"] == "guide-river-cities")
    assert guide["kind"] == "entry" and guide["contentType"] == "guide"
    assert {"field": "estimatedDays", "locale": None, "before": "7", "after": "10"} in guide[
        "fields"
    ]
    summary = json.loads(_ok(str(edited), "--json"))["items"]
    lisbon = next(item for item in summary if item["id"] == "lisbon")["fields"][0]
    assert lisbon["words"][:2] == [["=", "Seven"], ["+", " steep"]]
    assert json.loads(_ok(str(edited), "--json"))["model"][0] == {
        "subject": "locales",
        "what": "locale es-ES added (Spanish, falls back to en-US)",
    }


def test_reports_are_deterministic(sample: Path) -> None:
    for output_format in ("text", "markdown", "html", "json"):
        first = _ok(str(sample), "HEAD~4..HEAD", "--format", output_format)
        assert first == _ok(str(sample), "HEAD~4..HEAD", "--format", output_format)


def test_content_is_escaped_in_html_and_markdown(edited: Path) -> None:
    html = _ok(str(edited), "--format", "html")
    assert "Serralves &lt;script&gt;alert(1)&lt;/script&gt; park" in html
    assert "<script" not in html.lower()
    assert "default-src 'none'" in html  # no script could run even if one got through
    markdown = _ok(str(edited), "--format", "markdown")
    assert "Serralves &lt;script&gt;alert\\(1\\)" not in markdown  # ( ) stay readable
    assert "Serralves &lt;script&gt;alert(1)&lt;/script&gt; park" in markdown
    assert "<script" not in markdown


def test_html_embeds_small_local_thumbnails_side_by_side(sample: Path) -> None:
    html = _ok(str(sample), "HEAD~2..HEAD~1", "--format", "html")
    kyoto = html[html.index('id="asset-kyoto-hero"') :]
    kyoto = kyoto[: kyoto.index("</article>")]
    images = re.findall(r'<img src="([^"]+)" alt="([^"]+)"', kyoto)
    assert [alt for _, alt in images] == ["en-US before", "en-US after"]
    assert all(src.startswith("data:image/png;base64,") for src, _ in images)
    assert images[0][0] != images[1][0]
    assert '<meta name=viewport content="width=device-width, initial-scale=1">' in html


def test_html_uses_the_asset_url_without_a_local_file(tmp_path: Path) -> None:
    folder = tmp_path / "guide"
    with Emulator(EmulatorConfig(round=2)) as emulator:
        synced_rounds(emulator, folder, 0)
        emulator.store.apply_round(3)
        sync_json(emulator, folder)
    html = _ok(str(folder), "--format", "html")
    sources = re.findall(r'<img src="([^"]+)" alt="en-US (?:before|after)"', html)
    assert len(sources) == 2
    assert all(re.match(r"http://127\.0\.0\.1:\d+/files/", src) for src in sources)


# -- bounds --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A synthetic space of 3,000 entries and 300 assets, then a round of 100 changes."""
    folder = tmp_path_factory.mktemp("large") / "m"
    space = SyntheticSpace(3_000, seed=5, rounds=1, changes=100).definition()
    with Emulator(EmulatorConfig(space=space, round=0)) as emulator:
        synced_rounds(emulator, folder, 1)
    yield folder


@pytest.fixture(scope="module")
def large_initial(large: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of `large` at its initial round, which is then its last round."""
    clone = tmp_path_factory.mktemp("initial") / "m"
    root = git(large, "rev-list", "--max-parents=0", "HEAD").strip()
    git(clone.parent, "clone", "-q", "--no-checkout", str(large), clone.name)
    git(clone, "checkout", "-q", root)
    return clone


def test_a_large_initial_round_is_summarised_with_how_to_see_all(large_initial: Path) -> None:
    text = _ok(str(large_initial))
    assert "3,300 items: 3,300 added; content model: 7 changes" in text  # 3 locales, 4 types
    assert len(_item_lines(text)) == 200
    assert text.rstrip("\n").endswith(
        f"… and 3,100 more items: run `mirror diff {large_initial} --max-items 0` to see them all"
    )
    assert len(text) < 300_000
    everything = _ok(str(large_initial), "--max-items", "0")
    assert len(_item_lines(everything)) == 3_300 and "more items" not in everything
    stat = json.loads(_ok(str(large_initial), "--stat", "--json"))
    assert stat["total_items"] == 3_300


def test_a_round_of_a_large_space_shows_each_of_its_items(large: Path) -> None:
    text = _ok(str(large))
    assert len(_item_lines(text)) == 100 and "more items" not in text
    assert text == _ok(str(large), "HEAD~1")


def _item_lines(text: str) -> list[str]:
    return re.findall(r"^[+~*-] (?:added|changed|deleted|retyped): ", text, re.M)


def test_max_chars_cuts_at_an_item_and_links_the_full_report(large: Path) -> None:
    url = "https://ci.example.org/run/7/report.html"
    result = _ok(
        str(large), "HEAD~1", "--format", "markdown", "--max-chars", "6000", "--report-url", url
    )
    assert len(result) <= 6000
    lines = result.rstrip("\n").splitlines()
    assert lines[-1] == f"full report: <{url}>"
    said = re.search(r"… and (\d+) more items \(cut to fit 6,000 characters\)", result)
    assert said is not None
    shown = re.findall(r"^- \*\*(?:added|changed|deleted|retyped)\*\* ", result, re.M)
    assert len(shown) + int(said[1]) == 100
    body = result[: result.index("\n… and")]
    assert body.endswith("\n") and not body.rstrip("\n").endswith(":")  # a whole item
    whole = _ok(str(large), "HEAD~1", "--format", "markdown")
    assert whole.startswith(body)
    plain = _ok(str(large), "HEAD~1", "--max-chars", "2000")
    assert len(plain) <= 2000 and "(cut to fit 2,000 characters)" in plain


def test_max_items_limits_the_detail_and_html_says_so(large: Path) -> None:
    html = _ok(str(large), "HEAD~1", "--format", "html", "--max-items", "10")
    assert html.count("<article ") == 10
    assert "… and 90 more items: run <code>mirror diff " in html
    assert "--max-items 0 --format html</code> to see them all" in html


# -- files and errors ----------------------------------------------------------------


def test_output_writes_the_file_whole_and_prints_nothing(sample: Path, tmp_path: Path) -> None:
    target = tmp_path / "review.md"
    target.write_text("an older report that is longer than the new one will be\n" * 1000)
    result = _diff(str(sample), "--format", "markdown", "--output", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text(encoding="utf-8") == _ok(str(sample), "--format", "markdown")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["review.md"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["nosuchrev"], "unknown revision 'nosuchrev'"),
        (["HEAD~1...HEAD"], "A...B is not supported"),
        (["HEAD~1..HEAD", "HEAD"], "already names two revisions"),
        (["--json", "--format", "html"], "--json and --format html contradict"),
        (["--format", "html", "--max-chars", "5000"], "--max-chars bounds --format text"),
        (["--max-chars", "10"], "give 0 (no bound) or at least 300"),
    ],
)
def test_usage_errors_exit_2_with_one_line(sample: Path, args: list[str], says: str) -> None:
    result = _diff(str(sample), *args)
    assert result.exit_code == 2
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_output_in_a_missing_folder_is_refused_naming_the_path_given(
    sample: Path, tmp_path: Path
) -> None:
    target = tmp_path / "nonexistent" / "dir" / "x.html"
    result = _diff(str(sample), "--format", "html", "--output", str(target))
    assert result.exit_code == 2
    assert result.stderr == f"Error: cannot write {target}: no such folder {target.parent}\n"
    (tmp_path / "notes").write_text("a file\n")
    below_a_file = tmp_path / "notes" / "x.html"
    result = _diff(str(sample), "--output", str(below_a_file))
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"Error: cannot write {below_a_file}: {tmp_path / 'notes'} is not a folder\n"
    )


def test_a_failed_write_names_the_output_not_its_temporary_file(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    target = tmp_path / "review.txt"
    monkeypatch.setattr(os, "fsync", disk_full)
    result = _diff(str(sample), "--output", str(target))
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot write {target}: no space left on device\n"
    assert list(tmp_path.iterdir()) == []


def test_output_takes_any_file_name_the_system_allows(sample: Path, tmp_path: Path) -> None:
    longest = tmp_path / ("x" * 250 + ".html")  # 255 characters: NAME_MAX
    assert _diff(str(sample), "--output", str(longest)).exit_code == 0
    assert longest.read_text(encoding="utf-8") == _ok(str(sample))
    too_long = tmp_path / ("x" * 300 + ".html")
    result = _diff(str(sample), "--output", str(too_long))
    assert result.exit_code == 2
    assert result.stderr == f"Error: cannot write {too_long}: file name too long\n"


def test_a_repository_that_holds_no_mirror_is_not_a_mirror(tmp_path: Path) -> None:
    result = _diff(str(tmp_path))
    assert result.exit_code == 2 and "is not a mirror (not in a git repository)" in result.stderr
    git(tmp_path, "init", "-q")
    commit = ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty"]
    git(tmp_path, *commit, "-m", "not a round")
    for args in ([], ["HEAD"]):
        result = _diff(str(tmp_path), *args)
        assert result.exit_code == 2
        assert result.stderr == f"Error: {tmp_path} is not a mirror at HEAD (no mirror.json)\n"


def test_a_folder_inside_a_mirror_is_not_a_mirror_at_either_revision(sample: Path) -> None:
    entries = sample / "entries"
    for args, rev in (([], "HEAD"), (["HEAD~2..HEAD~1"], "HEAD~1")):
        result = _diff(str(entries), *args)
        assert result.exit_code == 2
        assert result.stderr == f"Error: {entries} is not a mirror at {rev} (no mirror.json)\n"


def test_a_mirror_with_no_round_says_to_sync_it(sample: Path, tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "mirror.json").write_bytes((sample / "mirror.json").read_bytes())
    git(tmp_path, "add", "mirror.json")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "by hand")
    result = _diff(str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == "Error: the mirror has no sync round yet: run mirror sync on it first\n"


def test_a_revision_that_names_no_commit_is_one_json_error(sample: Path) -> None:
    failed = _diff(str(sample), "nosuchrev", "--json")
    assert failed.exit_code == 2
    assert json.loads(failed.stdout) == {
        "status": "error",
        "exit_code": 2,
        "error": "unknown revision 'nosuchrev': the repository has no such commit "
        "(mirror log DIR lists the rounds)",
    }


@pytest.fixture(scope="module")
def larger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site's repository with a mirror in data/cms after one round, then a commit by hand."""
    site = tmp_path_factory.mktemp("larger") / "site"
    with Emulator(EmulatorConfig(round=0)) as emulator:
        git(site.parent, "init", "-q", "-b", "main", str(site))
        (site / "README").write_text("a site\n")
        git(site, "add", "README")
        git(site, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "site")
        synced_rounds(emulator, site / "data" / "cms", 1)
    (site / "README").write_text("a site, edited after the round\n")
    git(site, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "by hand")
    return site


def test_a_mirror_in_a_larger_repository_finds_its_last_round(larger: Path) -> None:
    text = _ok(str(larger / "data" / "cms"))
    assert "round 1 → round 2" in text
    assert "    population: 8435000 → 8587100\n" in text


def test_the_top_of_a_larger_repository_is_not_the_mirror(larger: Path) -> None:
    result = _diff(str(larger))
    assert result.exit_code == 2
    assert result.stderr == f"Error: {larger} is not a mirror at HEAD (no mirror.json)\n"


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site on main whose mirror content/ was synced with --branch content/sync: main's
    checkout has no content/ folder until the pull request is merged."""
    site = tmp_path_factory.mktemp("reviewed") / "site"
    git(site.parent, "init", "-q", "-b", "main", str(site))
    (site / "index.html").write_text("<h1>Travel guide</h1>\n")
    git(site, "add", "index.html")
    git(site, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "site")
    with Emulator(EmulatorConfig(round=0)) as emulator:
        result = mirror(*sync_args(emulator, site / "content", "--branch", "content/sync"))
        assert result.exit_code == 0, result.stderr
    assert not (site / "content").exists()
    return site


def test_a_mirror_on_a_review_branch_is_read_without_its_folder(
    reviewed: Path, tmp_path: Path
) -> None:
    text = _ok(str(reviewed / "content"), "main..content/sync")
    assert "54 items: 54 added" in text
    assert "+ added: Tbilisi (tbilisi)\n" in text
    link = tmp_path / "link"
    link.symlink_to(reviewed)
    assert _ok(str(link / "content"), "main..content/sync") == text
    entries = reviewed / "content" / "entries"
    result = _diff(str(entries), "main..content/sync")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {entries} is not a mirror at content/sync (no mirror.json)\n"


@pytest.mark.parametrize(
    ("below", "says"),
    [
        ("nowhere/content", "is not a mirror (not in a git repository)"),
        ("site/nope/../content", "'..' after"),
        ("site/index.html/content", "is not a folder"),
    ],
)
def test_a_missing_folder_outside_a_repository_or_below_a_file_exits_2(
    reviewed: Path, below: str, says: str
) -> None:
    directory = reviewed.parent / below
    result = _diff(str(directory), "main..content/sync")
    assert result.exit_code == 2
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1


# -- mirror log --fields -------------------------------------------------------------


def test_log_fields_summarises_each_round(sample: Path) -> None:
    lines = mirror("log", str(sample), "--fields").stdout.splitlines()
    last = lines[: lines.index(next(line for line in lines[1:] if not line.startswith(" ")))]
    assert git(sample, "rev-parse", "--short=10", "HEAD").strip() in last[0]
    assert (
        "    ~ entries/guide/guide-river-cities.json  Four river cities in ten days: "
        "cities, estimatedDays, title" in last
    )
    assert "    - assets/author-nino-avatar.json  Portrait of Nino Beridze" in last
    assert (
        "    ~ entries/guide/guide-lisbon-on-foot.json  Lisbon on foot, downhill: title[fr-FR]"
        in last
    )
    assert "    … and 34 more items" in lines  # the initial round: 54 items, 20 listed
    assert "    content type place: added (12 fields)" in lines
    rounds = json.loads(mirror("log", str(sample), "--fields", "--json").stdout)
    assert rounds[1]["fields"]["items"][0] == {
        "action": "changed",
        "path": "entries/city/tbilisi.json",
        "title": "Tbilisi",
        "fields": ["highlights"],
    }
    assert "fields" not in json.loads(mirror("log", str(sample), "--json").stdout)[0]
