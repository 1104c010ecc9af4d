"""Images benchmark: `mirror serve DIR` making an 800-pixel WebP of a 2000-pixel JPEG.

Usage: python bench/images.py [--runs 15] [--query "w=800&fm=webp"]

Makes a photo-like 2000x1333 JPEG (colour noise, blurred, over a gradient), puts it in
the emulator's sample space, syncs a mirror with --download-assets, and runs
`mirror serve DIR` in a process of its own. Then, --runs times, alternating: the first
request (the image cache emptied before it: decode, scale, encode, write the entry) and
the same request again (from the cache). Each time is a whole HTTP request from a kept-alive
client on this machine. Prints the median, the fastest and the slowest of each, and the
server's peak RSS.

The machine is shared and noisy: read the figures as orders of magnitude. Nothing here asserts.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mirror.emulator import Emulator, EmulatorConfig
from mirror.images.cache import images_folder


def photo() -> bytes:
    """A 2000x1333 JPEG that encodes like a photo (not a flat colour, not pure noise)."""
    size = (2000, 1333)
    red, green = Image.effect_noise(size, 70), Image.effect_noise(size, 70)
    blue = Image.linear_gradient("L").resize(size)
    image = Image.merge("RGB", (red, green, blue)).filter(ImageFilter.GaussianBlur(1.2))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def build_mirror(folder: Path, data: bytes) -> None:
    with Emulator(EmulatorConfig(round=0)) as emulator:
        upload = "data:image/jpeg;base64," + base64.b64encode(data).decode()
        file = {"upload": upload, "fileName": "photo.jpg", "contentType": "image/jpeg"}
        emulator.store.put_asset("photo", {"title": {"en-US": "Photo"}, "file": {"en-US": file}})
        command = [
            *(sys.executable, "-m", "mirror", "sync", str(folder)),
            *("--space", emulator.space.id, "--access-token", emulator.access_token),
            *("--base-url", emulator.base_url, "--download-assets", "--json"),
        ]
        subprocess.run(command, check=True, capture_output=True)


def start_server(folder: Path) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "mirror", "serve", str(folder), "--port", "0", "--json"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    facts = json.loads(process.stdout.readline())
    base = f"{facts['base_url']}/spaces/{facts['space']}/environments/{facts['environment']}"
    return process, base


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def timed(session: requests.Session, url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    response = session.get(url, timeout=60)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed * 1000, response.content


def empty(cache: Path) -> None:
    for entry in cache.glob("*"):
        entry.unlink()


def report(label: str, timings: list[float]) -> None:
    print(
        f"{label}: median {statistics.median(timings):.1f} ms "
        f"(fastest {min(timings):.1f}, slowest {max(timings):.1f}) over {len(timings)} runs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--query", default="w=800&fm=webp")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-images-"))
    try:
        data = photo()
        folder = work / "mirror"
        build_mirror(folder, data)
        cache = images_folder(folder / ".git", "")
        process, base = start_server(folder)
        try:
            session = requests.Session()
            asset = session.get(f"{base}/assets/photo", timeout=60).json()
            url = f"http:{asset['fields']['file']['url']}?{args.query}"
            first, again = [], []
            for _ in range(args.runs):
                empty(cache)
                elapsed, made = timed(session, url)
                first.append(elapsed)
                elapsed, kept = timed(session, url)
                again.append(elapsed)
                assert kept == made
            result = Image.open(io.BytesIO(made))
            print(
                f"source: 2000x1333 JPEG, {len(data) / 1024:.0f} KB; ?{args.query} gives "
                f"{result.format} {result.size[0]}x{result.size[1]}, {len(made) / 1024:.0f} KB"
            )
            report("first request (transform, then cache write)", first)
            report("same request again (from the cache)", again)
            print(f"server peak RSS: {peak_rss_mb(process.pid):.0f} MB")
        finally:
            process.terminate()
            process.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
