"""A small least-recently-used cache, safe between threads, bounded in entries and in
bytes, for what is made from one served revision (whose content never changes, so what
was made from it stays true as long as it is served): its parsed items, and the GraphQL
API's parsed documents, persisted queries and whole answers."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

V = TypeVar("V")
PARSED_MB = 128  # parsed items kept per served commit, by default (mirror serve --cache-mb)


class Lru(Generic[V]):
    """At most `entries` values (None: any number) of at most `budget` bytes in all
    (None: any size; 0 keeps nothing), as `size` measures each."""

    def __init__(
        self,
        entries: int | None = None,
        size: Callable[[V], int] = lambda _: 0,
        budget: int | None = None,
    ):
        self.entries = entries
        self.size = size
        self.budget = budget
        self._held: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._held.get(key)
            if found is None:
                return None
            self._held.move_to_end(key)
            return found[0]

    def get_many(self, keys: list[Hashable]) -> dict[Hashable, V]:
        """Those of `keys` held (one lock for them all)."""
        found: dict[Hashable, V] = {}
        with self._lock:
            for key in keys:
                held = self._held.get(key)
                if held is not None:
                    self._held.move_to_end(key)
                    found[key] = held[0]
        return found

    def put(self, key: Hashable, value: V, size: int | None = None) -> None:
        """Keep `value` (of `size` bytes, else what `self.size` says)."""
        self.put_many([(key, value, self.size(value) if size is None else size)])

    def put_many(self, held: Sequence[tuple[Hashable, V, int]]) -> None:
        """Keep each (key, value, size in bytes), under one lock."""
        with self._lock:
            for key, value, size in held:
                if self.budget is not None and (size > self.budget // 8 or not self.budget):
                    continue  # one value never takes much of the room
                old = self._held.pop(key, None)
                self._bytes -= old[1] if old else 0
                self._held[key] = (value, size)
                self._bytes += size
            while (self.entries is not None and len(self._held) > self.entries) or (
                self.budget is not None and self._bytes > self.budget
            ):
                _, (_, dropped) = self._held.popitem(last=False)
                self._bytes -= dropped
