"""mirror diff --format html in a real headless Chromium (Debian's `chromium`): the DOM
it builds holds the before and after text, content cannot run script, the page wraps
on a phone, and a screenshot of the sample space's round shows it (written to
docs/diff-report.png with MIRROR_WRITE_DOCS=1). Without Chromium these tests skip
and say how to install it; with CI set they fail instead."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from mirror.emulator import Emulator, EmulatorConfig
from tests.conftest import REPO, Api, mirror, sync_json
from tests.serving import synced_rounds

DOCS_SCREENSHOT = REPO / "docs" / "diff-report.png"
PHONE = (390, 1200)
BACKGROUND = (246, 248, 250)  # the page's background, #f6f8fa


def _chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found:
        return found
    message = (
        "Chromium is not installed; on Debian or Ubuntu: sudo apt-get install -y chromium "
        "(bash .ci/run installs it)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run every test", pytrace=False)
    pytest.skip(message)


def _browse(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Chromium, headless and offline but for the page, on `page` with `args`."""
    command = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
        page.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@dataclass
class Article:
    h3: str = ""
    fields: list[dict[str, str]] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)  # (src, alt)


class Dom(HTMLParser):
    """The serialized DOM read back: every element's tag, and per article its heading,
    each field's label with its before, after and word diff texts, and its images."""

    _READ = ("label", "before", "after", "words", "del", "ins")

    def __init__(self) -> None:
        super().__init__()
        self.articles: dict[str, Article] = {}
        self.elements: list[str] = []
        self._open: list[tuple[str, str]] = []  # (tag, class) of the open elements
        self._article: Article | None = None
        self._texts: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.elements.append(tag)
        if tag == "article":
            self._article = self.articles[str(found.get("id"))] = Article()
        if tag == "img" and self._article is not None:
            self._article.images.append((found.get("src") or "", found.get("alt") or ""))
        if tag not in ("img", "meta", "br", "link"):
            self._open.append((tag, found.get("class") or ""))
        if found.get("class") == "field":
            self._texts = {}

    def handle_endtag(self, tag: str) -> None:
        closed = ""
        while self._open:
            opened, closed = self._open.pop()
            if opened == tag:
                break
        if closed == "field" and self._article is not None:
            self._article.fields.append(dict(self._texts))

    def handle_data(self, data: str) -> None:
        for key in {cls or tag for tag, cls in self._open} & set(self._READ):
            self._texts[key] = self._texts.get(key, "") + data
        if self._article is not None and any(tag == "h3" for tag, _ in self._open):
            self._article.h3 += data


def _dom(page: Path, profile: Path) -> Dom:
    dom = Dom()
    dom.feed(_browse(page, profile, "--dump-dom").stdout)
    return dom


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("sample") / "guide"
    with Emulator(EmulatorConfig(round=0)) as emulator:
        synced_rounds(emulator, folder, 4, "--download-assets")
    yield folder


def _report(directory: Path, out: Path, *args: str) -> Path:
    result = mirror("diff", str(directory), *args, "--format", "html", "--output", str(out))
    assert result.exit_code == 0, result.stderr
    return out


def test_chromium_shows_before_and_after_of_a_sample_round(sample: Path, tmp_path: Path) -> None:
    page = _report(sample, tmp_path / "round-3.html", "HEAD~2..HEAD~1")
    dom = _dom(page, tmp_path / "profile")
    assert "script" not in dom.elements
    nishiki = dom.articles["entry-kyoto-nishiki-market"]
    assert nishiki.h3 == "changedNishiki market kyoto-nishiki-market"
    assert nishiki.fields == [
        {"label": "rating", "before": "4.3", "after": "4.4"},
        {"label": "lastVerified", "before": "2026-02-14", "after": "2026-03-12"},
    ]
    guide = dom.articles["entry-guide-lisbon-on-foot"].fields
    assert guide == [
        {
            "label": "attachments",
            "before": "Alfama downhill walk (GPX) (alfama-walk-route)",
            "after": "(none)",
        }
    ]
    kyoto = dom.articles["asset-kyoto-hero"]
    description = kyoto.fields[0]
    assert description["label"] == "description en-US"
    assert description["del"] == "An abstractdrawn"
    assert description["ins"] == "The in autumn coloursredrawn"
    assert description["words"] == (
        "An abstractThe skyline in autumn colours, drawnredrawn for the sample space."
    )
    assert {"label": "file name en-US", "before": "kyoto-skyline.png"}.items() <= kyoto.fields[
        1
    ].items()
    assert [alt for _, alt in kyoto.images] == ["en-US before", "en-US after"]
    assert all(src.startswith("data:image/png;base64,") for src, _ in kyoto.images)


def test_a_phone_screenshot_of_the_sample_round(sample: Path, tmp_path: Path) -> None:
    page = _report(sample, tmp_path / "round-3.html", "HEAD~2..HEAD~1")
    if os.environ.get("MIRROR_WRITE_DOCS") == "1":
        shot = DOCS_SCREENSHOT
        shot.parent.mkdir(exist_ok=True)
    else:
        shot = tmp_path / "diff-report.png"
    size = f"--window-size={PHONE[0]},{PHONE[1]}"
    _browse(page, tmp_path / "profile", f"--screenshot={shot}", size)
    with Image.open(shot) as image:
        assert image.size == PHONE
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 200  # text, badges, the word diff and two thumbnails drawn


def test_script_in_content_stays_text_and_long_words_wrap(tmp_path: Path) -> None:
    folder = tmp_path / "guide"
    title = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>" + "W" * 120
    with Emulator(EmulatorConfig(round=0)) as emulator:
        sync_json(emulator, folder)
        api = Api(emulator)
        fields = dict(emulator.store.item("Entry", "porto-serralves-park")["fields"])
        fields["title"] = {"en-US": title}
        response = api.write("PUT", "entries", "porto-serralves-park", {"fields": fields})
        assert response.status_code == 200, response.text
        sync_json(emulator, folder)
    page = _report(folder, tmp_path / "report.html")
    dom = _dom(page, tmp_path / "profile")
    assert "script" not in dom.elements and "img" not in dom.elements
    article = dom.articles["entry-porto-serralves-park"]
    assert article.h3 == f"changed{title[:100]}… porto-serralves-park"  # titles are cut at 100
    assert article.fields == [  # a long title is compared word by word
        {
            "label": "title en-US",
            "del": "Serralves park",
            "ins": title,
            "words": "Serralves park" + title,
        }
    ]
    shot = tmp_path / "narrow.png"
    _browse(page, tmp_path / "profile", f"--screenshot={shot}", "--window-size=375,900")
    with Image.open(shot) as image:
        rgb = image.convert("RGB")
        edge = {rgb.getpixel((x, y)) for x in range(370, 375) for y in range(image.height)}
    assert edge == {BACKGROUND}, "something runs past the right edge of a 375-pixel screen"
