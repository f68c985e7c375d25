"""One benchmark session: migrated service databases, the generated data set loaded into them
and into the monolith, streams, and the services + gateway running as processes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bench.env import Infra
from bench.sizes import Size
from bench.stack import Stack, migrate
from monolith.generate import generate
from monolith.load import load_monolith
from monolith.model import DataSet
from monolith.service_load import load_services
from services.ops.scratch import delete_streams
from services.runtime.jetstream import connect, ensure_streams
from services.runtime.settings import Settings, to_libpq_url

SERVICES_UNDER_TEST = ("employee", "payroll", "accounting")


@dataclass
class Bench:
    size: Size
    infra: Infra
    settings: Settings
    stack: Stack
    data: DataSet
    setup_s: dict[str, float] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # process -> why it is not running
    next_period: int = 1  # benchmark payroll runs take months after the history, in turn

    @property
    def monolith_url(self) -> str:
        return self.infra.database_url("monolith")

    def db_url(self, service: str) -> str:
        return to_libpq_url(self.settings.service_database_url(service))

    async def connect(self, service: str) -> asyncpg.Connection:
        url = self.monolith_url if service == "monolith" else self.db_url(service)
        return await asyncpg.connect(url)

    def running(self, name: str) -> bool:
        return name in self.stack.procs and self.stack.procs[name].poll() is None

    def machine_extra(self) -> dict[str, Any]:
        return {
            "embedded_servers": self.infra.embedded,
            "durable_commits": self.infra.durable,
            "setup_s": self.setup_s,
            "data_set": self.data.counts(),
        }


async def prepare(infra: Infra, size: Size, *, start_stack: bool = True) -> Bench:
    settings = infra.settings()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    await migrate(settings, SERVICES_UNDER_TEST)
    timings["migrate_s"] = time.perf_counter() - started
    started = time.perf_counter()
    data = generate(size.employees, months=size.history_months)
    timings["generate_s"] = time.perf_counter() - started
    timings["load_monolith_s"] = (await load_monolith(infra.database_url("monolith"), data))["total_s"]
    loaded = await load_services({s: to_libpq_url(settings.service_database_url(s)) for s in SERVICES_UNDER_TEST}, data)
    timings.update({f"load_{s}_db_s": t for s, t in loaded.items()})
    nc = await connect(settings.require_nats_url(), "bench-setup")
    await ensure_streams(nc.jetstream(), settings.subject_root)
    await nc.close()
    bench = Bench(size, infra, settings, Stack(settings, infra.tmp / "logs"), data, timings)
    if start_stack:
        await start(bench)
    return bench


async def start(bench: Bench) -> None:
    """Start the services, then the gateway; a process that cannot start is noted, not fatal."""
    for names in (SERVICES_UNDER_TEST, ("gateway",)):
        try:
            bench.setup_s[f"start_{'_'.join(names)}_s"] = await bench.stack.start(names)
        except Exception as exc:
            for name in names:
                if not bench.running(name):
                    bench.problems[name] = str(exc)[-2000:]


async def close(bench: Bench) -> None:
    bench.stack.stop()
    await delete_streams(bench.settings)
