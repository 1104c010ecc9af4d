"""Scale benchmark (issue 4): mirror sync against reference pipelines on 10k and 100k spaces.

Usage: bash bench/run            (sets up everything, then runs this)
       python bench/scale.py [--sizes 10000,100000] [--runs 3] [--deltas 3]

For each size, one emulator process serves a synthetic space (`mirror serve
--synthetic N`, seeded). In the same run and against the same server, each
contestant does a full initial sync, the contestants taking turns run by run so
that the machine's noise falls on all of them alike:

- mirror sync: the initial sync into a new Git repository;
- the official Python SDK fetching every page, writing nothing;
- the official JavaScript SDK + one file per item + `git add -A` + commit.

Then, on the largest mirror, rounds of 100 random changes (edits, additions,
deletions) are made through the emulator's write API and `mirror sync` is timed
for each (process start-up included), with the growth of `.git` after the tool's
own housekeeping. Reported: medians, items/s, peak RSS of the process (wait4),
`.git` sizes, and the ratio of mirror's time to each reference. The machine is
shared and noisy: compare ratios, not absolute seconds. Nothing here asserts.
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
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from mirror.client.guard import wait_for_lock
from mirror.emulator.synthetic import SyntheticSpace

HERE = Path(__file__).resolve().parent
SEED = 7


@dataclass
class Run:
    seconds: float
    rss_mb: float
    git_mb: float | None = None
    returncode: int = 0
    with_workers_mb: float = 0.0  # peak of the RSS summed over it and its child processes


@dataclass
class Contestant:
    name: str
    runs: list[Run] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        values = [getattr(r, attribute) for r in self.runs if getattr(r, attribute) is not None]
        return statistics.median(values) if values else float("nan")


def measure(command: list[str], env: dict[str, str] | None = None, check: bool = True) -> Run:
    """Wall time and peak RSS of one process.

    The peak is the process's own VmHWM, read from /proc until it exits (it starts
    anew at exec). wait4's ru_maxrss would also count the memory of the parent
    that forked it, which is large when the parent is a test holding an emulator.
    Processes it forks (export's workers) are sampled too: their proportional set
    size (PSS: each page shared by n processes counts 1/n in each), summed with its
    own, gives `with_workers_mb`, the memory the whole command holds.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = together = 0
    while process.poll() is None:
        peak = max(peak, _status_kb(process.pid, "VmHWM:"))
        children = _children(process.pid)
        together = max(together, sum(_pss_kb(pid) for pid in [process.pid, *children]))
        time.sleep(0.005)
    seconds = time.perf_counter() - started
    if check and process.returncode != 0:
        error = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"{command[0]} failed ({process.returncode}): {error[-2000:]}")
    return Run(seconds, peak / 1024, returncode=process.returncode, with_workers_mb=together / 1024)


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def git_size_mb(folder: Path) -> float:
    git_dir = folder / ".git"
    return sum(p.stat().st_size for p in git_dir.rglob("*") if p.is_file()) / 2**20


class Server:
    """A synthetic emulator in its own process."""

    def __init__(self, entries: int, rounds: int) -> None:
        command = [
            sys.executable,
            "-m",
            "mirror",
            "serve",
            "--synthetic",
            str(entries),
            "--synthetic-rounds",
            str(rounds),
            "--seed",
            str(SEED),
            "--round",
            "0",
            "--port",
            "0",
            "--json",
            "-q",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.facts = json.loads(self.process.stdout.readline())
        self.host = self.facts["base_url"].removeprefix("http://")
        self.entries = entries
        self.rounds = rounds

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()

    def apply_round(self, number: int) -> int:
        """Make round `number` of the synthetic space's changes through the write API."""
        definition = SyntheticSpace(self.entries, SEED, self.rounds).definition()
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.facts['management_token']}"
        base = f"{self.facts['base_url']}/spaces/{self.facts['space']}/environments/master"
        count = 0
        for change in definition.rounds[number]:
            kind = "entries" if change.kind == "Entry" else "assets"
            url = f"{base}/{kind}/{change.id}"
            if change.action == "delete":
                response = session.delete(url, timeout=30)
            else:
                headers = {"X-Contentful-Content-Type": change.content_type or ""}
                response = session.put(
                    url, json={"fields": change.fields}, headers=headers, timeout=30
                )
            response.raise_for_status()
            count += 1
        return count


def mirror_command(server: Server, folder: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mirror",
        "sync",
        str(folder),
        "--space",
        server.facts["space"],
        "--base-url",
        server.facts["base_url"],
        "-q",
    ]


def run_size(entries: int, runs: int, deltas: int, work: Path, with_sdks: bool) -> list[str]:
    env = {**os.environ, "CONTENTFUL_ACCESS_TOKEN": "synthetic-delivery-token"}
    server = Server(entries, max(deltas, 1))
    items = entries + max(1, entries // 10)
    mirror = Contestant("mirror sync (initial)")
    python_sdk = Contestant("Python SDK, fetch only")
    js_pipeline = Contestant("JS SDK + files + git")
    contestants = [mirror] + ([python_sdk, js_pipeline] if with_sdks else [])
    last_mirror = work / "none"
    try:
        for number in range(runs):
            folder = work / f"mirror-{entries}-{number}"
            run = measure(mirror_command(server, folder), env)
            run.git_mb = git_size_mb(folder)
            mirror.runs.append(run)
            last_mirror = folder
            if with_sdks:
                token = server.facts["access_token"]
                python_sdk.runs.append(
                    measure(
                        [
                            sys.executable,
                            str(HERE / "python_sdk_fetch.py"),
                            server.host,
                            server.facts["space"],
                            token,
                        ]
                    )
                )
                out = work / f"js-{entries}-{number}"
                run = measure(
                    [
                        "node",
                        str(HERE / "js" / "pipeline.mjs"),
                        server.host,
                        server.facts["space"],
                        token,
                        str(out),
                    ]
                )
                run.git_mb = git_size_mb(out)
                js_pipeline.runs.append(run)
                shutil.rmtree(out, ignore_errors=True)
            print(f"  {entries}: run {number + 1}/{runs} done", file=sys.stderr)
        delta_rows = []
        if deltas:
            before = git_size_mb(last_mirror)
            timings = []
            for number in range(1, deltas + 1):
                server.apply_round(number)
                timings.append(measure(mirror_command(server, last_mirror), env))
            wait_for_lock(last_mirror / ".git/mirror/root/housekeeping.lock", 300)
            growth = (git_size_mb(last_mirror) - before) / deltas
            exported = measure(
                [
                    sys.executable,
                    "-m",
                    "mirror",
                    "export",
                    str(last_mirror),
                    str(work / "export"),
                    "--locale",
                    "en-US",
                ]
            )
            delta_rows.append(
                f"| {entries:,} | mirror export, one locale, links to depth 1 | "
                f"{exported.seconds:.2f} | {entries / exported.seconds:,.0f} | "
                f"{exported.rss_mb:.0f} | | |"
            )
            delta_rows.append(
                f"| {entries:,} | mirror sync, 100-change round (median of {deltas}) | "
                f"{statistics.median(r.seconds for r in timings):.2f} | | "
                f"{statistics.median(r.rss_mb for r in timings):.0f} | "
                f"+{growth:.2f} per round | |"
            )
    finally:
        server.stop()
    rows = []
    for contestant in contestants:
        seconds = contestant.median("seconds")
        ratio = "" if contestant is mirror else f"{mirror.median('seconds') / seconds:.2f}"
        git_mb = contestant.median("git_mb")
        rows.append(
            f"| {entries:,} | {contestant.name} | {seconds:.2f} | {items / seconds:,.0f} | "
            f"{contestant.median('rss_mb'):.0f} | {'' if git_mb != git_mb else f'{git_mb:.1f}'} "
            f"| {ratio} |"
        )
    return rows + delta_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--deltas", type=int, default=3)
    parser.add_argument("--no-sdks", action="store_true", help="only time mirror")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="mirror-bench-"))
    rows = []
    try:
        for entries in sizes:
            deltas = args.deltas if entries == max(sizes) else 0
            rows += run_size(entries, args.runs, deltas, work, not args.no_sdks)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"median of {args.runs} runs; ratio = mirror's time / the reference's time")
    print("| entries | what | wall s | items/s | peak RSS MB | .git MB | mirror / reference |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
