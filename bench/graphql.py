"""GraphQL benchmark: `mirror serve DIR`'s GraphQL Content API on a large mirror.

Usage: python bench/graphql.py [--entries 100000] [--mirror DIR] [--seconds 8] [--runs 3]
                              [--workers 1] [--cache-mb 128]

Builds a mirror of a synthetic space (as bench/scale.py does) unless --mirror names one,
then, with `mirror serve DIR --workers N` in processes of its own, measures in alternating
runs (GraphQL, then the same selection from the REST API, run after run, so that the
shared machine's noise falls on both) and reports the medians of the runs:

- latency: `articleCollection(where: {rating: $rating}, skip: $skip, limit: $limit)`
  with one level of links (author, image), every request with variables not asked
  before (so no answer comes from the server's cache of answers), one client: median
  and 95th percentile; the REST equivalent (`fields.rating=`, `include=1`) beside it;
- cold: the same query's first 100 requests after the server starts, before any of the
  items they show was read (parsed items are kept per commit, `PARSED_BYTES` of them);
- throughput: the same from 8 concurrent clients for --seconds, every request new, and
  the CPU time the server (with its workers) spent per request meanwhile;
- latency of the same answers with an error in them (an unknown locale beside the
  page: what a link to an unpublished entry costs too), one client;
- throughput of repeated requests (20 variable sets over and over: the answers cache);
- the schema of a new commit: `build_schema` for a 50-content-type model whose types
  link to each other, plus validating a first query against it (in this process);
- the server process's peak RSS (VmHWM), and its workers' if any.

The pages skip up to 190 of about 1,000 matches per rating at 100,000 entries: with far
fewer --entries most pages come back empty, and the figures mean little.

The machine is shared and noisy: read the figures as orders of magnitude. Nothing here asserts.
"""

from __future__ import annotations

import argparse
import itertools
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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests
from scale import Server, measure, mirror_command
from serve_queries import peak_rss_mb

# This file is named graphql.py: its folder goes last on the path (serve_queries put it
# first), or `import graphql` (graphql-core, which mirror.graphql uses) finds this file.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]


QUERY = """query Articles($rating: Float, $skip: Int, $limit: Int) {
  articleCollection(where: {rating: $rating}, skip: $skip, limit: $limit) {
    total
    items {
      sys { id publishedAt }
      title
      slug
      rating
      views
      author { ... on Person { name } }
      image { title url }
    }
  }
}"""
# The same page, and beside it a field that is null with one UNKNOWN_LOCALE error.
ELSEWHERE = '  elsewhere: articleCollection(locale: "xx-XX") { total }\n}'
ERRING_QUERY = QUERY[: QUERY.rindex("}")] + ELSEWHERE
REST = "content_type=article&fields.rating={rating}&skip={skip}&limit={limit}&include=1"
Variables = dict[str, Any]


def start_server(
    folder: Path, workers: int, cache_mb: int
) -> tuple[subprocess.Popen[str], str, str]:
    """`mirror serve DIR --port 0 --json`: the process, its GraphQL and REST bases."""
    command = [sys.executable, "-m", "mirror", "serve", str(folder), "--port", "0", "--json", "-q"]
    command += ["--workers", str(workers), "--cache-mb", str(cache_mb)]
    # Run from the repository's root: from bench/, `-m` would put this file first as `graphql`.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=HERE.parent)
    assert process.stdout is not None
    facts = json.loads(process.stdout.readline())
    where = f"spaces/{facts['space']}/environments/{facts['environment']}"
    return process, f"{facts['base_url']}/content/v1/{where}", f"{facts['base_url']}/{where}"


def worker_pids(pid: int) -> list[int]:
    """The processes `mirror serve --workers N` forked."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    # Not its `git cat-file` (a single process has one).
    return [int(c) for c in children if b"mirror" in Path(f"/proc/{c}/cmdline").read_bytes()]


def fresh_variables(seed: int = 7) -> Iterator[Variables]:
    """Variable sets never asked twice: 41 ratings x 20 skips x 20 limits, shuffled."""
    ratings = [round(1 + step / 10, 1) for step in range(41)]
    sets = list(itertools.product(ratings, range(0, 200, 10), range(81, 101)))
    random.Random(seed).shuffle(sets)
    return ({"rating": r, "skip": s, "limit": n} for r, s, n in sets)


def graphql_call(session: requests.Session, url: str, variables: Variables) -> None:
    response = session.post(url, json={"query": QUERY, "variables": variables}, timeout=60)
    response.raise_for_status()
    errors = response.json().get("errors")
    if errors:
        raise SystemExit(f"GraphQL errors ({len(errors)}), the first: {errors[0]['message']}")


def erring_call(session: requests.Session, url: str, variables: Variables) -> None:
    response = session.post(url, json={"query": ERRING_QUERY, "variables": variables}, timeout=60)
    response.raise_for_status()
    codes = [e["extensions"]["contentful"]["code"] for e in response.json().get("errors", [])]
    if codes != ["UNKNOWN_LOCALE"]:
        raise SystemExit(f"expected one UNKNOWN_LOCALE error, got {codes}")


def rest_call(session: requests.Session, url: str, variables: Variables) -> None:
    session.get(f"{url}/entries?{REST.format(**variables)}", timeout=60).raise_for_status()


Call = Callable[[requests.Session, str, Variables], None]


def latency(call: Call, url: str, sets: list[Variables]) -> list[float]:
    session = requests.Session()
    timings = []
    for variables in sets:
        started = time.perf_counter()
        call(session, url, variables)
        timings.append(time.perf_counter() - started)
    return timings


def throughput(call: Call, url: str, next_set: Callable[[], Variables], seconds: float) -> float:
    done = [0] * 8
    deadline = time.perf_counter() + seconds
    lock = threading.Lock()

    def client(number: int) -> None:
        session = requests.Session()
        while time.perf_counter() < deadline:
            with lock:
                variables = next_set()
            call(session, url, variables)
            done[number] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


def schema_build_seconds(types: int = 50, runs: int = 5) -> float:
    """Median seconds to build and validate the schema of a new commit's model."""
    from graphql import parse, validate

    from mirror.graphql.schema import build_schema

    model = synthetic_model(types)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        served = build_schema("bench", model)
        validate(served.schema, parse("{ type0Collection { items { sys { id } } } }"))
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def synthetic_model(count: int) -> list[dict[str, Any]]:
    """`count` content types of 12 fields: scalars, rich text, links to 3 other types,
    an array of links, an asset: every type links to and is linked from others."""
    made = []
    for number in range(count):
        others = [f"type{(number + step) % count}" for step in (1, 2, 3)]
        fields = [
            {"id": "title", "type": "Symbol"},
            {"id": "slug", "type": "Symbol"},
            {"id": "summary", "type": "Text"},
            {"id": "body", "type": "RichText"},
            {"id": "rating", "type": "Number"},
            {"id": "views", "type": "Integer"},
            {"id": "published", "type": "Date"},
            {"id": "featured", "type": "Boolean"},
            {"id": "tags", "type": "Array", "items": {"type": "Symbol"}},
            {"id": "image", "type": "Link", "linkType": "Asset"},
            {
                "id": "parent",
                "type": "Link",
                "linkType": "Entry",
                "validations": [{"linkContentType": others[:1]}],
            },
            {
                "id": "related",
                "type": "Array",
                "items": {
                    "type": "Link",
                    "linkType": "Entry",
                    "validations": [{"linkContentType": others}],
                },
            },
        ]
        made.append({"sys": {"id": f"type{number}"}, "name": f"Type {number}", "fields": fields})
    return made


def build_mirror(entries: int, folder: Path) -> None:
    env = {**os.environ, "CONTENTFUL_ACCESS_TOKEN": "synthetic-delivery-token"}
    server = Server(entries, 1)
    try:
        print(f"{entries:,} entries: mirror sync ...", flush=True)
        measure(mirror_command(server, folder), env)
    finally:
        server.stop()


def report(runs: list[dict[str, float]]) -> None:
    def median(name: str) -> float:
        return statistics.median(run[name] for run in runs)

    print(f"median of {len(runs)} alternating runs:")
    print(
        f"  GraphQL collection, where on a field, limit ~100, one level of links: "
        f"median {median('graphql_median'):.1f} ms, p95 {median('graphql_p95'):.1f} ms"
    )
    print(
        f"  REST, the same entries with include=1: median {median('rest_median'):.1f} ms, "
        f"p95 {median('rest_p95'):.1f} ms"
    )
    print(
        f"  8 concurrent clients, every request new: {median('graphql_rate'):.0f} requests/s "
        f"(server CPU {median('graphql_cpu'):.1f} ms per request)"
    )
    print(
        f"  the same with an error in the answer (an unknown locale): "
        f"median {median('erring_median'):.1f} ms, p95 {median('erring_p95'):.1f} ms"
    )
    print(f"  8 concurrent clients, REST: {median('rest_rate'):.0f} requests/s")
    print(f"  8 concurrent clients, repeated requests: {median('cached_rate'):.0f} requests/s")


def server_cpu_seconds(pids: list[int]) -> float:
    """User and system time of the server's processes so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def graphql_throughput(
    graphql: str, fresh: Iterator[Variables], seconds: float, pids: list[int]
) -> dict[str, float]:
    before, started = server_cpu_seconds(pids), time.perf_counter()
    rate = throughput(graphql_call, graphql, lambda: next(fresh), seconds)
    answered = rate * (time.perf_counter() - started)
    spent = server_cpu_seconds(pids) - before
    return {"graphql_rate": rate, "graphql_cpu": spent / max(answered, 1) * 1000}


def measure_run(
    graphql: str, rest: str, fresh: Iterator[Variables], seconds: float, pids: list[int]
) -> dict[str, float]:
    sets = [next(fresh) for _ in range(100)]
    mine = latency(graphql_call, graphql, sets)
    theirs = latency(rest_call, rest, sets)
    erring = latency(erring_call, graphql, [next(fresh) for _ in range(100)])
    repeated = itertools.cycle([next(fresh) for _ in range(20)])
    for variables in itertools.islice(repeated, 20):
        graphql_call(requests.Session(), graphql, variables)  # into the cache
    return {
        "graphql_median": statistics.median(mine) * 1000,
        "graphql_p95": statistics.quantiles(mine, n=20)[-1] * 1000,
        "rest_median": statistics.median(theirs) * 1000,
        "rest_p95": statistics.quantiles(theirs, n=20)[-1] * 1000,
        "erring_median": statistics.median(erring) * 1000,
        "erring_p95": statistics.quantiles(erring, n=20)[-1] * 1000,
        **graphql_throughput(graphql, fresh, seconds, pids),
        "rest_rate": throughput(rest_call, rest, lambda: next(fresh), seconds),
        "cached_rate": throughput(graphql_call, graphql, lambda: next(repeated), seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--mirror", type=Path, default=None, help="an existing mirror to serve")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="mirror serve --workers N")
    parser.add_argument("--cache-mb", type=int, default=128, help="mirror serve --cache-mb N")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="graphql-bench-"))
    folder = args.mirror or work / f"mirror-{args.entries}"
    try:
        if args.mirror is None:
            build_mirror(args.entries, folder)
        print(f"schema of a new commit, 50 content types: {schema_build_seconds():.2f} s")
        process, graphql, rest = start_server(folder, args.workers, args.cache_mb)
        try:
            started = time.perf_counter()
            graphql_call(requests.Session(), graphql, {"rating": 3.0, "skip": 0, "limit": 1})
            print(
                f"first GraphQL answer (index and schema built if missing): "
                f"{time.perf_counter() - started:.2f} s"
            )
            fresh = fresh_variables()
            cold = latency(graphql_call, graphql, [next(fresh) for _ in range(100)])
            print(
                f"cold (first 100 requests, none of their items read yet): median "
                f"{statistics.median(cold) * 1000:.1f} ms, "
                f"p95 {statistics.quantiles(cold, n=20)[-1] * 1000:.1f} ms"
            )
            workers = worker_pids(process.pid)
            pids = [process.pid, *workers]
            report(
                [measure_run(graphql, rest, fresh, args.seconds, pids) for _ in range(args.runs)]
            )
            peaks = " + ".join(f"{peak_rss_mb(pid):.0f}" for pid in [process.pid, *workers])
            print(f"server peak RSS: {peaks} MB" + (" (parent + workers)" if workers else ""))
        finally:
            process.terminate()
            process.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
