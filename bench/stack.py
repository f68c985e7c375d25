"""The system under test as real processes: `python -m services.runtime.serve <name>` per
service and `python -m gateway`, as `erp up` runs them (so the load generator, in this process,
does not share an event loop with them). Logs go to files in the run's temporary directory."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

import services
from bench.env import child_env
from services.ops.supervisor import grpc_healthy
from services.runtime.migrations import ensure_databases, upgrade
from services.runtime.settings import Settings

ROOT = Path(services.__file__).resolve().parent.parent  # the checkout whose services are imported


async def migrate(settings: Settings, services: Sequence[str]) -> None:
    """Create and migrate the services' databases (each Alembic run in a thread)."""
    await ensure_databases(settings, list(services))
    for service in services:
        await asyncio.to_thread(upgrade, settings, service)


@dataclass
class Stack:
    settings: Settings
    log_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def spawn(self, name: str) -> None:
        args = ["-m", "gateway"] if name == "gateway" else ["-m", "services.runtime.serve", name]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        self.procs[name] = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=child_env(self.settings), stdout=log, stderr=subprocess.STDOUT
        )

    async def start(self, names: Sequence[str], timeout_s: float = 90.0) -> float:
        """Spawn the named processes ("gateway" included) and wait until healthy; returns seconds."""
        started = time.perf_counter()
        for name in names:
            if name not in self.procs:
                self.spawn(name)
        await self.wait_healthy(names, timeout_s)
        return time.perf_counter() - started

    async def wait_healthy(self, names: Sequence[str], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        pending = set(names)
        async with httpx.AsyncClient() as http:
            while pending:
                for name in sorted(pending):
                    proc = self.procs[name]
                    if proc.poll() is not None:
                        tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                        raise RuntimeError(f"{name} exited with code {proc.returncode}:\n{tail}")
                    if await self._healthy(http, name):
                        pending.discard(name)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"not healthy after {timeout_s:.0f}s: {', '.join(sorted(pending))}")
                await asyncio.sleep(0.1)

    async def _healthy(self, http: httpx.AsyncClient, name: str) -> bool:
        if name != "gateway":
            return await grpc_healthy(self.settings.grpc_address(name))
        try:
            reply = await http.get(f"{self.gateway_url}/healthz", timeout=1)
        except httpx.HTTPError:
            return False
        return reply.status_code == 200

    @property
    def gateway_url(self) -> str:
        return f"http://{self.settings.gateway_host}:{self.settings.gateway_port}"

    def stop(self, names: Sequence[str] | None = None) -> None:
        chosen = list(names) if names is not None else list(self.procs)
        for name in chosen:
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name in chosen:
            proc = self.procs.pop(name, None)
            if proc is None:
                continue
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
