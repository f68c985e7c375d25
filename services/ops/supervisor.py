"""`erp up`: the whole system on one machine, as real processes.

Starts embedded PostgreSQL and NATS unless ERP_DATABASE_URL / ERP_NATS_URL name servers,
creates and migrates the eight databases, starts every implemented service (gRPC server,
outbox relay, consumers) and the gateway as child processes, waits until each is healthy,
prints the addresses, and stops everything cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.ops import nats_config
from services.ops.embedded import EmbeddedNats, EmbeddedPostgres
from services.ops.servers import EMBEDDED_NATS_PORT, embedded_postgres, uses_embedded
from services.runtime.jetstream import connect, ensure_streams
from services.runtime.migrations import ensure_databases, runnable_services, upgrade_all
from services.runtime.settings import Settings
from services.runtime.tls import channel_credentials

if TYPE_CHECKING:

    class _HealthAsyncStub(Protocol):
        """The method types-grpcio-health-checking leaves off HealthStub, for an aio channel."""

        Check: grpc.aio.UnaryUnaryMultiCallable[health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse]


@dataclass
class System:
    settings: Settings
    env: dict[str, str]
    pg: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    nats_passwords: dict[str, str] = field(default_factory=dict, repr=False)  # ERP_SECURITY: per principal

    @property
    def run_file(self) -> Path:
        return self.settings.data_dir / "run.json"


def start_infrastructure(settings: Settings, env: dict[str, str]) -> System:
    """Embedded servers where no external ones are configured; returns the child environment."""
    system = System(settings, dict(env))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if uses_embedded(settings):
        system.pg = embedded_postgres(settings, env)
        system.env["ERP_DATABASE_URL"] = system.pg.start()
        print(f"  postgres  {system.env['ERP_DATABASE_URL']}  (embedded, data in {system.pg.data_dir})")
        print(f"            WAL archived to {system.pg.archive_dir} (erp basebackup / erp restore --to-time)")
    if not settings.nats_url:
        port = int(env.get("ERP_EMBEDDED_NATS_PORT", EMBEDDED_NATS_PORT))
        config = None
        if settings.security:  # one user per service, gateway and admin, with their permissions
            system.nats_passwords = nats_config.generate_passwords()
            config = nats_config.write_config(
                settings.data_dir / "nats" / "nats-server.conf", settings.subject_root, system.nats_passwords
            )
        system.nats = EmbeddedNats(settings.data_dir / "nats", port, config=config)
        system.env["ERP_NATS_URL"] = system.nats.start()
        secured = f", users and permissions from {config}" if config else ""
        print(f"  nats      {system.env['ERP_NATS_URL']}  (embedded, JetStream in {system.nats.data_dir}{secured})")
    system.settings = Settings.from_env(system.env)
    if system.nats_passwords:
        admin = system.nats_passwords["admin"]
        system.settings = replace(system.settings, nats_passwords={"admin": admin})
        _write_private(admin_password_file(system.settings), admin + "\n")
    return system


def admin_password_file(settings: Settings) -> Path:
    """The NATS admin password of a secured `erp up` (read by `erp status` / `erp dlq`)."""
    return settings.data_dir / "nats" / "admin.password"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def child_env(system: System, principal: str) -> dict[str, str]:
    """A child's environment: with a secured embedded NATS, its own NATS password only."""
    env = dict(system.env)
    password = system.nats_passwords.get(principal)
    if password:
        env[f"ERP_{principal.upper()}_NATS_PASSWORD"] = password
        if principal == "gateway":  # the gateway connects with the URL alone: credentials in it
            env["ERP_NATS_URL"] = env["ERP_NATS_URL"].replace("nats://", f"nats://gateway:{password}@", 1)
    return env


async def prepare(settings: Settings) -> None:
    await ensure_databases(settings)
    await asyncio.to_thread(upgrade_all, settings)
    nc = await connect(settings.require_nats_url(), "erp-up", credentials=settings.nats_credentials("admin"))
    try:
        await ensure_streams(nc.jetstream(), settings.subject_root, settings.stream_replicas)
    finally:
        await nc.close()


def spawn(system: System) -> None:
    for service in runnable_services():
        system.children[service] = subprocess.Popen(
            [sys.executable, "-m", "services.runtime.serve", service], env=child_env(system, service)
        )
    system.children["gateway"] = subprocess.Popen([sys.executable, "-m", "gateway"], env=child_env(system, "gateway"))


async def grpc_healthy(address: str, tls_dir: Path | None = None) -> bool:
    """The standard health check (with ERP_TLS_DIR over mutual TLS, as `admin`)."""
    channel = (
        grpc.aio.secure_channel(address, channel_credentials(tls_dir, "admin"))
        if tls_dir
        else grpc.aio.insecure_channel(address)
    )
    async with channel:
        try:
            stub = cast("_HealthAsyncStub", health_pb2_grpc.HealthStub(channel))
            reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.aio.AioRpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


async def wait_healthy(system: System, timeout_s: float = 60.0) -> None:
    settings = system.settings
    deadline = time.monotonic() + timeout_s
    pending = set(system.children)
    async with httpx.AsyncClient() as http:
        while pending:
            for name in list(pending):
                child = system.children[name]
                if child.poll() is not None:
                    raise RuntimeError(f"{name} exited with code {child.returncode} during start-up")
                if name == "gateway":
                    try:
                        ok = (await http.get(gateway_url(settings) + "/healthz", timeout=1)).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                else:
                    ok = await grpc_healthy(settings.grpc_address(name), settings.tls_dir)
                if ok:
                    pending.discard(name)
            if time.monotonic() > deadline:
                raise RuntimeError(f"not healthy after {timeout_s:.0f}s: {', '.join(sorted(pending))}")
            await asyncio.sleep(0.2)


def gateway_url(settings: Settings) -> str:
    return f"http://{settings.gateway_host}:{settings.gateway_port}"


def stop(system: System) -> None:
    for child in system.children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for name, child in system.children.items():
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            print(f"  {name} did not stop in time; killing it")
            child.kill()
            child.wait()
    if system.nats:
        system.nats.stop()
    if system.pg:
        system.pg.stop()
    system.run_file.unlink(missing_ok=True)


def write_run_file(system: System) -> None:
    s = system.settings
    info = {
        "database_url": system.env.get("ERP_DATABASE_URL"),
        "nats_url": system.env.get("ERP_NATS_URL"),
        "gateway": gateway_url(s) + "/graphql",
        "grpc": {name: s.grpc_address(name) for name in runnable_services()},
        "pid": os.getpid(),
    }
    if system.nats_passwords:
        info["nats_admin_password_file"] = str(admin_password_file(s))
    system.run_file.write_text(json.dumps(info, indent=2))


def up(env: dict[str, str] | None = None) -> int:
    environ = dict(os.environ if env is None else env)
    settings = Settings.from_env(environ)
    print("Starting the ERP back office")
    system = start_infrastructure(settings, environ)
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        asyncio.run(prepare(system.settings))
        spawn(system)
        asyncio.run(wait_healthy(system))
        write_run_file(system)
        s = system.settings
        print(f"\n  GraphQL   {gateway_url(s)}/graphql   (GraphiQL: open it in a browser)")
        for name in runnable_services():
            print(f"  gRPC      {name:<13} {s.grpc_address(name)}")
        print("\nReady. Press Ctrl-C to stop.", flush=True)
        while not stopping:
            for name, child in system.children.items():
                if child.poll() is not None:
                    print(f"  {name} exited with code {child.returncode}; stopping everything")
                    stopping = True
            time.sleep(0.2)
        print("Stopping...", flush=True)
        return 0
    except Exception as exc:
        print(f"erp up failed: {exc}", file=sys.stderr)
        return 1
    finally:
        stop(system)
        print("Stopped.", flush=True)
