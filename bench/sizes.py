"""Benchmark sizes: `tiny` for the smoke test, `small` for `make bench`, `full` for `make bench-full`."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Size:
    name: str
    employees: int  # the generated data set (also the payroll run's head count)
    history_months: int  # payroll history per employee (>= 3: the read asks for the last three)
    repeats: int
    read_employees: int  # employees per gateway read
    read_requests: int  # requests per concurrency level and repeat (at least one per worker)
    read_concurrency: tuple[int, ...]
    relay_events: int
    update_rate: float  # EmployeeUpdated per second (steady load)
    update_seconds: float
    write_requests: int  # per path, concurrency level and repeat
    write_concurrency: tuple[int, ...]
    erp_up_repeats: int
    erp_up_restart: bool  # also time a restart on the same data
    test_suite: bool = False  # also time the test suite (`make test`'s pytest run), once

    def requests_at(self, concurrency: int) -> int:
        return max(self.read_requests, concurrency)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


SIZES = {
    "tiny": Size("tiny", 20, 3, 1, 20, 6, (1, 3), 200, 20.0, 1.0, 6, (1, 3), 1, False),
    "small": Size("small", 1_000, 4, 3, 100, 10, (1, 10, 50), 5_000, 50.0, 6.0, 100, (1, 20), 3, True),
    "full": Size("full", 10_000, 12, 3, 100, 50, (1, 10, 50), 50_000, 100.0, 30.0, 300, (1, 20), 3, True, True),
}
