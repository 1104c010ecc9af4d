"""Bundle benchmark: a fresh SQLite bundle of a 100k mirror, then one updated in place
after a 100-change round.

Usage: python bench/bundle.py [--entries 100000] [--mirror /tmp/bench100k] [--rounds 3]

The mirror is a synthetic space mirrored by `mirror sync` (bench/scale.py makes one;
with --mirror, a copy of a ready one is used, never the folder itself). Timed, each
as its own process, start-up included, with peak RSS (see scale.measure):

- `mirror bundle DIR OUT --full`: a fresh bundle;
- per round: 100 changes through the emulator's write API, `mirror sync`, then
  `mirror bundle DIR OUT` updating the bundle of the previous round in place.

Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import Run, Server, measure, mirror_command


def bundle_command(folder: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mirror", "bundle", str(folder), str(out), *extra]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--mirror", type=Path, help="a ready mirror of that synthetic space")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "CONTENTFUL_ACCESS_TOKEN": "synthetic-delivery-token"}
    work = Path(tempfile.mkdtemp(prefix="mirror-bench-bundle-"))
    server = Server(args.entries, args.rounds)
    try:
        folder = work / "mirror"
        if args.mirror:
            subprocess.run(["cp", "-a", str(args.mirror), str(folder)], check=True)
        else:
            measure(mirror_command(server, folder), env)
        out = work / "seed.sqlite"
        fresh = measure(bundle_command(folder, out, "--full"))
        size = out.stat().st_size / 2**20
        updates: list[Run] = []
        for number in range(1, args.rounds + 1):
            server.apply_round(number)
            measure(mirror_command(server, folder), env)
            updates.append(measure(bundle_command(folder, out)))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"| {args.entries:,} entries | wall s | peak RSS MB |")
    print("| --- | --- | --- |")
    print(f"| fresh bundle (--full), {size:.0f} MB | {fresh.seconds:.2f} | {fresh.rss_mb:.0f} |")
    seconds = statistics.median(r.seconds for r in updates)
    rss = statistics.median(r.rss_mb for r in updates)
    print(
        f"| updated in place after a 100-change round (median of {len(updates)}) | "
        f"{seconds:.2f} | {rss:.0f} |"
    )


if __name__ == "__main__":
    main()
