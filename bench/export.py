"""Export benchmark: mirror export of the synthetic 100k mirror, full and incremental.

Usage: python bench/export.py [--entries 100000] [--mirror /tmp/bench100k] [--rounds 3]

The mirror is the one bench/scale.py builds (a synthetic space served by `mirror serve
--synthetic N`, seeded); with --mirror, a ready copy of it (made with the same seed and
size) is copied instead of synced anew. Timed, each as its own process (start-up
included), with its peak RSS: a full export of one locale with links to depth 1 into
an empty OUT; then, for each round of 100 random changes made through the emulator's
write API and synced, the incremental export of the same OUT, and full exports
(--full) for comparison: one rendered by a worker process per core (the default),
one by a single process (--jobs 1), alternated. Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scale import Run, Server, measure, mirror_command  # noqa: E402


def timed_export(folder: Path, out: Path, *extra: str) -> Run:
    # An export writes about 700 MB of small files: flushed first, an earlier run's
    # writeback does not land in this one's time.
    os.sync()
    command = [sys.executable, "-m", "mirror", "export", str(folder), str(out)]
    return measure([*command, "--locale", "en-US", "--resolve-links", "1", *extra])


def report(name: str, runs: list[Run]) -> str:
    seconds = statistics.median(r.seconds for r in runs)
    rss = max(r.rss_mb for r in runs)
    together = max(r.with_workers_mb for r in runs)
    return f"| {name} | {len(runs)} | {seconds:.2f} | {rss:.0f} | {together:.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--mirror", type=Path, help="a ready mirror of the same space to copy")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "CONTENTFUL_ACCESS_TOKEN": "synthetic-delivery-token"}
    work = Path(tempfile.mkdtemp(prefix="mirror-export-bench-"))
    server = Server(args.entries, max(args.rounds, 1))
    try:
        folder = work / "mirror"
        if args.mirror:
            shutil.copytree(args.mirror, folder, symlinks=True)
            # a copy's files are new to git's index: refresh it once, as any use would
            subprocess.run(["git", "-C", str(folder), "update-index", "-q", "--refresh"])
        else:
            measure(mirror_command(server, folder), env)
        out = work / "out"
        lines = [
            "| export, one locale, depth 1 | runs | wall s (median) | peak RSS MB "
            "| with workers (PSS), MB |"
        ]
        lines.append("| --- | --- | --- | --- | --- |")
        lines.append(report("full, empty OUT", [timed_export(folder, out)]))
        incremental, full, serial = [], [], []
        for number in range(1, args.rounds + 1):
            changed = server.apply_round(number)
            measure(mirror_command(server, folder), env)
            manifest = work / f"manifest-{number}.json"
            incremental.append(timed_export(folder, out, "--manifest", str(manifest)))
            body = json.loads(manifest.read_text())
            written = len(body["locales"]["en-US"]["written"])
            print(f"round {number}: {changed} changes, mode {body['mode']}, {written} files")
            # one worker process per core (the default), and one process: alternated
            pair = [(full, ()), (serial, ("--jobs", "1"))]
            for runs, extra in pair if number % 2 else reversed(pair):
                target = work / f"full-{number}-{len(extra)}"
                runs.append(timed_export(folder, target, "--full", *extra))
                shutil.rmtree(target)
        lines.append(report("incremental, after a 100-change round", incremental))
        lines.append(report("full (--full), same commit, empty OUT", full))
        lines.append(report("full (--full --jobs 1), same commit, empty OUT", serial))
        best = min(r.seconds for r in full), min(r.seconds for r in serial)
        print(
            f"full export, best of each: {best[0]:.2f} s with a worker per core, "
            f"{best[1]:.2f} s in one process (ratio {best[1] / best[0]:.2f})"
        )
        print("\n".join(lines))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
