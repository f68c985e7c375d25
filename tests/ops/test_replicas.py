"""Two replicas of a service, as real processes, share its outbox relay (advisory-lock lease) and
its durable consumer: every outbox row is published once and every event is applied once."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc
from nats.aio.client import Client
from prometheus_client.parser import text_string_to_metric_families

from services.ops.embedded import free_port
from services.ops.supervisor import grpc_healthy
from services.runtime.events import H_ID, stream_name
from services.runtime.settings import Settings
from tests.employee.helpers import create_employee
from tests.ops.helpers import ROOT, connect, erp_env, private_system
from tests.runtime.helpers import eventually

EMPLOYEES = 200


class Replica:
    def __init__(self, service: str, env: dict[str, str], log: Path) -> None:
        self.service = service
        self.grpc = f"127.0.0.1:{env[f'ERP_{service.upper()}_GRPC_PORT']}"
        self.metrics = f"http://127.0.0.1:{env[f'ERP_{service.upper()}_METRICS_PORT']}/metrics"
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.runtime.serve", service], cwd=ROOT, env=env, stderr=out
            )

    async def sample(self, http: httpx.AsyncClient, name: str, **labels: str) -> float:
        text = (await http.get(self.metrics)).text
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                    return float(s.value)
        return 0.0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.asynccontextmanager
async def replicas(own: Settings, tmp: Path, log_lines: list[str]) -> AsyncIterator[list[Replica]]:
    employee_ports = [free_port(), free_port()]
    started: list[Replica] = []
    try:
        for i, service in enumerate(["employee", "employee", "payroll", "payroll"]):
            env = erp_env(own, ERP_EMPLOYEE_GRPC_PORT=str(employee_ports[i % 2]), ERP_LOG_LEVEL="INFO")
            env[f"ERP_{service.upper()}_METRICS_PORT"] = str(free_port())
            if service == "payroll":
                env["ERP_PAYROLL_GRPC_PORT"] = str(free_port())
            started.append(Replica(service, env, tmp / f"{service}-{i}.log"))

        async def healthy() -> bool:
            for r in started:
                assert r.process.poll() is None, r.log.read_text()
            return all([await grpc_healthy(r.grpc) for r in started])

        await eventually(healthy, timeout_s=60, interval_s=0.2)
        yield started
    finally:
        for r in started:
            r.stop()
        for r in started:
            log_lines.extend(r.log.read_text().splitlines())


async def test_two_replicas_publish_and_apply_each_event_once(
    settings: Settings, nats_client: Client, tmp_path: Path, log_lines: list[str]
) -> None:
    async with (
        private_system(settings, "rep", ["employee", "payroll"]) as own,
        replicas(own, tmp_path, log_lines) as procs,
    ):
        employees, payrolls = procs[:2], procs[2:]
        channels = [grpc.aio.insecure_channel(r.grpc) for r in employees]
        stubs = [emp_grpc.EmployeeServiceStub(c) for c in channels]
        for start in range(0, EMPLOYEES, 20):  # through both replicas, 20 at a time
            await asyncio.gather(*(create_employee(stubs[i % 2]) for i in range(start, start + 20)))
        for c in channels:
            await c.close()

        edb, pdb = await connect(own, "employee"), await connect(own, "payroll")
        try:

            async def published() -> bool:
                return bool(await edb.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0)

            async def applied() -> bool:
                return bool(await pdb.fetchval("SELECT count(*) FROM employee_cache") == EMPLOYEES)

            await eventually(published, timeout_s=30)
            await eventually(applied, timeout_s=30)
            rows = await edb.fetchval("SELECT count(*) FROM outbox")
            assert rows == EMPLOYEES
            assert await pdb.fetchval("SELECT count(*) FROM processed_events") == EMPLOYEES
        finally:
            await edb.close()
            await pdb.close()

        js = nats_client.jetstream()
        stream = stream_name(own.subject_root, "employee")
        info = await js.stream_info(stream)
        assert info.state.messages == EMPLOYEES
        ids = {(await js.get_msg(stream, seq)).headers[H_ID] for seq in range(1, info.state.last_seq + 1)}
        assert len(ids) == EMPLOYEES and all(uuid.UUID(i) for i in ids)

        async with httpx.AsyncClient(timeout=5) as http:
            sent = [await r.sample(http, "erp_outbox_published_total", service="employee") for r in employees]
            done = [
                await r.sample(http, "erp_consumer_events_total", service="payroll", outcome="applied")
                for r in payrolls
            ]
            dups = [
                await r.sample(http, "erp_consumer_events_total", service="payroll", outcome="duplicate")
                for r in payrolls
            ]
        assert sorted(sent) == [0, EMPLOYEES]  # one replica holds the relay lease and publishes every row once
        assert sum(done) == EMPLOYEES and sum(dups) == 0  # the shared durable consumer hands each event to one replica
        print(f"relay publications per replica {sent}, events applied per payroll replica {done}")
