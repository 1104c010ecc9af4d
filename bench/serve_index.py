"""Serve index benchmark: the per-commit SQLite index of `mirror serve DIR`.

Usage: python bench/serve_index.py [--entries 100000] [--work DIR]

A synthetic space (as in bench/scale.py) is served by an emulator process and
mirrored with `mirror sync`. Then, each in a process of its own (peak RSS is that
process's VmHWM): the index of HEAD built from scratch; opening it again once
cached (the time to a first answer); a 100-change round is synced and the new
HEAD's index derived from the previous one. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import Server, measure, mirror_command


def open_and_answer(directory: Path) -> None:
    """The child: open HEAD (building or updating its index), answer one entry
    lookup and one field lookup, print how."""
    from mirror.delivery.revision import open_revision

    started = time.perf_counter()
    with open_revision(directory) as content:
        opened = time.perf_counter() - started
        some = next(content.entries("article"))
        entry = content.entry(some["sys"]["id"])
        article = next(ct for ct in content.content_types() if ct["sys"]["id"] == "article")
        field = next(f["id"] for f in article["fields"] if f["type"] == "Symbol")
        value = next(iter(some["fields"][field].values()))
        started = time.perf_counter()
        found = list(content.find_entries("article", {field: value}, []) or [])
        lookup = time.perf_counter() - started
        print(
            f"  {content.index.origin}: open {opened:.2f} s; entry found: {entry is not None}; "
            f"fields.{field} lookup {lookup * 1000:.1f} ms ({len(found)} entries); "
            f"index {content.index.path.stat().st_size / 2**20:.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--open", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.open:
        open_and_answer(args.open)
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="serve-index-"))
    env = {**os.environ, "CONTENTFUL_ACCESS_TOKEN": "synthetic-delivery-token"}
    child = [sys.executable, __file__, "--open"]
    server = Server(args.entries, 1)
    folder = work / f"mirror-{args.entries}"
    try:
        print(f"{args.entries:,} entries: mirror sync ...", flush=True)
        measure(mirror_command(server, folder), env)
        for label in ("built from scratch", "cached (first answer)"):
            run = measure([*child, str(folder)], check=True)
            print(f"{label}: {run.seconds:.2f} s, peak RSS {run.rss_mb:.0f} MB")
        changed = server.apply_round(1)
        measure(mirror_command(server, folder), env)
        run = measure([*child, str(folder)], check=True)
        print(
            f"updated after a {changed}-change round: {run.seconds:.2f} s, "
            f"peak RSS {run.rss_mb:.0f} MB"
        )
        subprocess.run([*child, str(folder)], check=True)  # cached again: the lookups
    finally:
        server.stop()
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
