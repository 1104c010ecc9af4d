"""Entry files of a full export, rendered by several processes at once.

A full export of a large space spends its time in Python: each entry is read, parsed
and flattened together with every item its links reach (about four reads an entry at
depth 1), then written. That work is independent per entry, so with more than one
core the entries are cut into chunks and rendered by forked worker processes, each
writing its entries' files into the staging folder and sending back only what the
parent needs: the index row and the links of each entry. The parent takes the results
in chunk order, so the index files, the reverse-link index and the report are the same
whatever the number of workers; the entry files are the same bytes too, since each is
the canonical JSON of the same flattened object.

Workers are forked (they share the mirror's already-read content model and id map),
or spawned and sent the job where this process runs other threads; where neither is
available, or the export is small, everything runs in this process.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

from mirror.client.tree import write_all
from mirror.outputs.export import ExportOptions, Mirror, entry_links
from mirror.outputs.flatten import Flattener
from mirror.wire import canonical_json

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CHUNK = 1_000  # at most, entries a worker renders between two results
_PARALLEL_FROM = 4_000  # entries; below this, starting workers costs more than it saves


@dataclass
class Rendered:
    """One entry's file as written, with what the parent records of it."""

    content_type: str
    entry_id: str
    row: bytes  # the entry's row of its type's index, as index_bytes takes it
    links: list[tuple[str, str]]


@dataclass
class _Job:
    mirror: Mirror
    flattener: Flattener
    folder: Path
    options: ExportOptions
    with_links: bool


_job: _Job | None = None  # what a forked worker renders for: set before the fork


def default_jobs() -> int:
    """As many workers as cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def render_entries(
    mirror: Mirror,
    flattener: Flattener,
    folder: Path,
    chosen: list[str],
    options: ExportOptions,
    with_links: bool,
    jobs: int | None,
) -> Generator[Rendered, None, None]:
    """Every entry of the chosen content types written below `folder`, yielded in
    content type then id order. `jobs` None: as many as cores when the export is large."""
    work = [(ct, entry_id) for ct in chosen for entry_id in flattener.reader.entry_ids(ct)]
    for content_type in chosen:
        (folder / content_type).mkdir(parents=True, exist_ok=True)
    job = _Job(mirror, flattener, folder, options, with_links)
    workers = _workers(jobs, len(work))
    if workers == 1:
        yield from _render(job, work)
        return
    size = max(1, min(_CHUNK, -(-len(work) // (workers * 4))))  # a few chunks per worker
    chunks = [work[start : start + size] for start in range(0, len(work), size)]
    yield from _render_forked(job, chunks, workers)


def _workers(jobs: int | None, count: int) -> int:
    """`jobs` when asked (at most one per entry); by default one per core for a large
    export; one wherever fork is not available (Windows)."""
    if count < 2 or "fork" not in multiprocessing.get_all_start_methods():  # Windows
        return 1
    if jobs is None:
        return default_jobs() if count >= _PARALLEL_FROM else 1
    return min(jobs, count)


def _render_forked(
    job: _Job, chunks: list[list[tuple[str, str]]], workers: int
) -> Iterator[Rendered]:
    global _job
    _job = job
    # A process with other threads (a test's in-process server, say) must not fork: a
    # lock one of them holds would stay held in the child for ever. It starts fresh
    # workers and sends them the job instead.
    alone = threading.active_count() == 1
    context = multiprocessing.get_context("fork" if alone else "spawn")
    # What forked workers inherit stays shared with this process only while nobody
    # writes to it; the collector's passes would (its bookkeeping lives in each object).
    gc.freeze()
    try:
        with context.Pool(
            workers, initializer=_start_worker, initargs=(None if alone else job,)
        ) as pool:
            for results in pool.imap(_render_chunk, chunks):
                yield from results
    finally:
        _job = None
        gc.unfreeze()


def _start_worker(job: _Job | None) -> None:
    """Ctrl-C reaches the whole process group: the parent stops the workers and reports
    once, rather than each worker printing its own traceback. SIGTERM, which the parent
    may turn into an interruption, is how the pool stops a worker: it must just end.
    A spawned worker gets its job here; a forked one has it already."""
    global _job
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if job is not None:
        _job = job


def _render_chunk(chunk: list[tuple[str, str]]) -> list[Rendered]:
    assert _job is not None, "a worker runs only in a pool started by _render_forked"
    return list(_render(_job, chunk))


def _render(job: _Job, work: list[tuple[str, str]]) -> Iterator[Rendered]:
    flattener, reader = job.flattener, job.flattener.reader
    for content_type, entry_id in work:
        item = reader.entry(entry_id)
        if item is None:
            continue
        flat = flattener.entry(item, flattener.depth, ())
        write_new(job.folder / content_type / f"{entry_id}.json", canonical_json(flat))
        links = entry_links(item) if job.with_links else []
        row = canonical_json(job.mirror.index_row(flat, content_type, job.options))
        yield Rendered(content_type, entry_id, b"  " + row[:-1].replace(b"\n", b"\n  "), links)


def index_bytes(rows: list[bytes]) -> bytes:
    """canonical_json of the list of rows, from each row's own canonical JSON indented
    one level (a JSON text holds no raw newline but between its tokens): the parent
    holds 100,000 rows as bytes rather than as objects."""
    return b"[\n" + b",\n".join(rows) + b"\n]\n" if rows else b"[]\n"


def write_new(path: Path, data: bytes) -> None:
    """A new file in a staging folder (faster than Path.write_bytes, which this does
    100,000 times in a large export)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)
