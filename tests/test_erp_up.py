"""End to end: the real `erp up` command (what `make up` runs) starts, answers GraphQL over HTTP
and gRPC health checks, keeps data across a restart, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.ops.embedded import free_port, port_open
from services.ops.scratch import delete_streams
from services.runtime.settings import SERVICES, Settings

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def _env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "ERP_DATA_DIR": str(data_dir),
            "ERP_EMBEDDED_PG_PORT": str(free_port()),
            "ERP_EMBEDDED_NATS_PORT": str(free_port()),
            "ERP_GATEWAY_PORT": str(free_port()),
            "ERP_DATABASE_PREFIX": "erptest_up_",
            "ERP_SUBJECT_ROOT": f"up{secrets.token_hex(3)}",
        }
    )
    for service in SERVICES:
        env[f"ERP_{service.upper()}_GRPC_PORT"] = str(free_port())
    return env


@contextmanager
def erp_up(env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.ops.cli", "up"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 180
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if line.startswith("Ready."):
                break
            if time.monotonic() > deadline:
                raise AssertionError("erp up did not become ready:\n" + "".join(output))
        else:
            raise AssertionError("erp up exited before it was ready:\n" + "".join(output))
        yield proc
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        output.append(rest)
        assert proc.returncode == 0, "".join(output)
        assert "Stopped." in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _graphql(port: str, query: str, variables: dict[str, object] | None = None) -> dict[str, object]:
    reply = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": query, "variables": variables or {}})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def _healthy(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def test_erp_up_serves_restarts_and_stops() -> None:
    # Not pytest's tmp_path: concurrent pytest runs prune each other's numbered temp dirs.
    data_dir = Path(tempfile.mkdtemp(prefix="erp-up-test-"))
    env = _env(data_dir / "erp-data")
    try:
        _serve_restart_and_stop(env)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        if os.environ.get("ERP_NATS_URL"):  # leave nothing behind on a shared server
            settings = replace(Settings.from_env(env), nats_url=os.environ["ERP_NATS_URL"])
            asyncio.run(delete_streams(settings))


def _serve_restart_and_stop(env: dict[str, str]) -> None:
    code = f"UP{secrets.token_hex(3).upper()}"
    with erp_up(env):
        assert _healthy(f"127.0.0.1:{env['ERP_EMPLOYEE_GRPC_PORT']}")
        created = _graphql(
            env["ERP_GATEWAY_PORT"],
            "mutation($input: CreateDepartmentInput!) { createDepartment(input: $input) { id code } }",
            {"input": {"name": "Up Test", "code": code}},
        )
        assert created["createDepartment"]["code"] == code  # type: ignore[index]
        status = subprocess.run(
            [sys.executable, "-m", "services.ops.cli", "status", "--json"], cwd=ROOT, env=env, capture_output=True
        )
        assert b'"SERVING"' in status.stdout
    # Everything is down: no port left open.
    for key in ("ERP_GATEWAY_PORT", "ERP_EMPLOYEE_GRPC_PORT", "ERP_EMBEDDED_PG_PORT", "ERP_EMBEDDED_NATS_PORT"):
        assert not port_open(int(env[key])), key
    # Data survives a restart.
    with erp_up(env):
        found = _graphql(env["ERP_GATEWAY_PORT"], "{ departments(first: 100) { edges { node { code } } } }")
        codes = [e["node"]["code"] for e in found["departments"]["edges"]]  # type: ignore[index]
        assert code in codes
