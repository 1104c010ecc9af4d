"""Deterministic fault injection: latency, server errors, rate limits, dropped bodies."""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class FaultPlan:
    latency_ms: float = 0.0
    error_rate: float = 0.0
    rate_limit: int = 0  # requests per second; 0 means unlimited
    drop_rate: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class Fault:
    """What to do to one response: delay it, replace it, or cut its body short."""

    delay: float = 0.0
    status: int | None = None  # 429, 500 or 503 instead of the real answer
    reset_seconds: int = 0  # for 429
    drop: bool = False


class FaultInjector:
    """Draws each request's fate from one seeded generator, in arrival order."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._random = random.Random(plan.seed)
        self._lock = threading.Lock()
        self._window = -1
        self._count = 0

    def draw(self) -> Fault:
        plan = self.plan
        with self._lock:
            now = time.monotonic()
            if plan.rate_limit:
                window = int(now)
                if window != self._window:
                    self._window, self._count = window, 0
                self._count += 1
                if self._count > plan.rate_limit:
                    reset = max(1, math.ceil(window + 1 - now))
                    return Fault(status=429, reset_seconds=reset)
            roll_error, roll_drop, roll_kind = (self._random.random() for _ in range(3))
        delay = plan.latency_ms / 1000.0
        if roll_error < plan.error_rate:
            return Fault(delay=delay, status=500 if roll_kind < 0.5 else 503)
        return Fault(delay=delay, drop=roll_drop < plan.drop_rate)
