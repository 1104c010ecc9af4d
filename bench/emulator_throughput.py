"""How many items per second the emulator serves in sync pages of 1000.

Usage: python bench/emulator_throughput.py [--entries 20000] [--runs 5]

Fills the sample space's store with extra `place` entries (about 1 KB each, two
locales), then fetches the whole initial sync over HTTP with one keep-alive
connection, the way a client does. Prints the median of several runs, for the
raw transfer and for transfer plus JSON parsing. Target (issue 2): at least
20,000 items/s, so that the emulator is never the bottleneck of a client benchmark.
"""

from __future__ import annotations

import argparse
import statistics
import time

import requests

from mirror.emulator import Emulator, EmulatorConfig


def fill(emulator: Emulator, count: int) -> None:
    city = {"sys": {"type": "Link", "linkType": "Entry", "id": "lisbon"}}
    for number in range(count):
        text = f"Place number {number}, described at some length for realism. " * 8
        emulator.store.put_entry(
            f"bench-{number:06d}",
            "place",
            {
                "title": {"en-US": f"Place {number}", "de-DE": f"Ort {number}"},
                "city": {"en-US": city},
                "rating": {"en-US": number % 50 / 10},
                "offlineTip": {"en-US": text, "de-DE": text[:200]},
            },
        )


def fetch_all(emulator: Emulator, parse: bool) -> int:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {emulator.access_token}"
    url = f"{emulator.base_url}/spaces/{emulator.space.id}/environments/master/sync"
    params: dict[str, str] = {"initial": "true", "limit": "1000"}
    items = 0
    while True:
        response = session.get(url, params=params, timeout=60)
        response.raise_for_status()
        if parse:
            body = response.json()
            items += len(body["items"])
            next_url = body.get("nextPageUrl")
        else:
            raw = response.content
            items += raw.count(b'"type":"Entry"') + raw.count(b'"type":"Asset"')
            marker = raw.rfind(b'"nextPageUrl":"')
            next_url = raw[marker + 15 : raw.rfind(b'"')].decode() if marker > 0 else None
        if not next_url:
            return items
        params = {"sync_token": next_url.split("sync_token=", 1)[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with Emulator(EmulatorConfig()) as emulator:
        started = time.perf_counter()
        fill(emulator, args.entries)
        print(f"filled {args.entries} entries in {time.perf_counter() - started:.1f}s")
        fetch_all(emulator, parse=False)  # warm the snapshot cache, as a first client would
        print(f"{'mode':<22}{'items':>8}{'median s':>10}{'items/s':>10}")
        for mode, parse in (("transfer only", False), ("transfer + json parse", True)):
            timings, items = [], 0
            for _ in range(args.runs):
                started = time.perf_counter()
                items = fetch_all(emulator, parse)
                timings.append(time.perf_counter() - started)
            median = statistics.median(timings)
            print(f"{mode:<22}{items:>8}{median:>10.3f}{items / median:>10.0f}")


if __name__ == "__main__":
    main()
