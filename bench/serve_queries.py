"""Serve benchmark: `mirror serve DIR` answering Delivery API queries on a large mirror.

Usage: python bench/serve_queries.py [--entries 100000] [--mirror DIR] [--seconds 10]

Builds a mirror of a synthetic space (as bench/scale.py does) unless --mirror names one,
then, with `mirror serve DIR` in a process of its own:

- start-up: from launching the server (its index already built once) to its first answer;
- latency: getEntries with a content type, a field equality, limit=100 and include=1, one
  client, 200 requests with varying values: median and 95th percentile;
- throughput: the same kind of query from 8 concurrent clients for --seconds: requests/s;
- the server process's peak RSS (VmHWM).

The machine is shared and noisy: read the figures as orders of magnitude. Nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import Server, measure, mirror_command

QUERY = "content_type=article&fields.slug={slug}&limit=100&include=1"


def start_server(folder: Path) -> tuple[subprocess.Popen[str], str, float]:
    """`mirror serve DIR --port 0 --json`; returns the process, its base URL, and the
    seconds from launch to its first 200 answer."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "mirror", "serve", str(folder), "--port", "0", "--json"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    facts = json.loads(process.stdout.readline())
    base = f"{facts['base_url']}/spaces/{facts['space']}/environments/{facts['environment']}"
    while requests.get(f"{base}/locales", timeout=60).status_code != 200:
        time.sleep(0.01)
    return process, base, time.perf_counter() - started


def slugs(folder: Path, count: int) -> list[str]:
    """Slugs of some articles, read from the mirror's files."""
    found = []
    for path in sorted((folder / "entries" / "article").iterdir())[:count]:
        fields = json.loads(path.read_text())["fields"]
        found.append(next(iter(fields["slug"].values())))
    return found


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def latency(base: str, values: list[str], requests_count: int = 200) -> list[float]:
    session = requests.Session()
    timings = []
    for number in range(requests_count):
        url = f"{base}/entries?{QUERY.format(slug=values[number % len(values)])}"
        started = time.perf_counter()
        response = session.get(url, timeout=60)
        timings.append(time.perf_counter() - started)
        response.raise_for_status()
    return timings


def throughput(base: str, values: list[str], seconds: float, clients: int = 8) -> float:
    done = [0] * clients
    deadline = time.perf_counter() + seconds

    def client(number: int) -> None:
        session = requests.Session()
        pick = random.Random(number)
        while time.perf_counter() < deadline:
            url = f"{base}/entries?{QUERY.format(slug=pick.choice(values))}"
            session.get(url, timeout=60).raise_for_status()
            done[number] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--mirror", type=Path, default=None, help="an existing mirror to serve")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="serve-queries-"))
    folder = args.mirror or work / f"mirror-{args.entries}"
    try:
        if args.mirror is None:
            env = {**os.environ, "CONTENTFUL_ACCESS_TOKEN": "synthetic-delivery-token"}
            server = Server(args.entries, 1)
            try:
                print(f"{args.entries:,} entries: mirror sync ...", flush=True)
                measure(mirror_command(server, folder), env)
            finally:
                server.stop()
        values = slugs(folder, 500)
        first, _, build = start_server(folder)  # builds the index if it is not cached
        first.terminate()
        first.wait()
        print(f"first start (index built if missing): {build:.2f} s")
        process, base, ready = start_server(folder)
        try:
            print(f"start-up with the index cached, to the first answer: {ready:.2f} s")
            timings = latency(base, values)
            median = statistics.median(timings) * 1000
            p95 = statistics.quantiles(timings, n=20)[-1] * 1000
            print(
                f"getEntries (content_type, fields.slug=, limit=100, include=1): "
                f"median {median:.1f} ms, p95 {p95:.1f} ms over {len(timings)} requests"
            )
            rate = throughput(base, values, args.seconds)
            print(f"8 concurrent clients for {args.seconds:g} s: {rate:.0f} requests/s")
            print(f"server peak RSS: {peak_rss_mb(process.pid):.0f} MB")
        finally:
            process.terminate()
            process.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
