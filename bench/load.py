"""Load generators: closed loop (N workers, back to back) and open loop (a steady rate)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Call = Callable[[int], Awaitable[object]]


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    errors: int = 0
    first_error: str | None = None

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall_s if self.wall_s else 0.0

    def failed(self, exc: BaseException) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = f"{type(exc).__name__}: {exc}"[:500]


async def _timed(call: Call, i: int, run: Run) -> None:
    started = time.perf_counter()
    try:
        await call(i)
    except Exception as exc:
        run.failed(exc)
        return
    run.latencies.append(time.perf_counter() - started)


async def closed_loop(call: Call, total: int, concurrency: int) -> Run:
    """`total` calls from `concurrency` workers, each starting its next call when one returns."""
    run = Run()
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            await _timed(call, i, run)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, total))))
    run.wall_s = time.perf_counter() - started
    return run


async def open_loop(call: Call, rate: float, seconds: float) -> Run:
    """Start a call every 1/rate seconds for `seconds`, whatever the previous ones are doing."""
    run = Run()
    total = max(1, int(rate * seconds))
    tasks = []
    started = time.perf_counter()
    for i in range(total):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_timed(call, i, run)))
    await asyncio.gather(*tasks)
    run.wall_s = time.perf_counter() - started
    return run
