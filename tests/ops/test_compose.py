"""compose.yaml validates (`docker-compose config -q`, single node and the `cluster` profile) and
runs every implemented service and the gateway with health checks and restart policies. There is
no Docker engine here: nothing is started."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from services.runtime.migrations import runnable_services
from tests.ops.helpers import ROOT


def compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    pytest.skip("neither docker-compose nor the docker compose plugin is installed (apt-get install docker-compose)")


def compose(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(ROOT)}  # no ERP_* from the test run
    return subprocess.run([*compose_command(), *args], cwd=ROOT, capture_output=True, text=True, env=env, check=False)


@pytest.mark.parametrize("profiles", [[], ["--profile", "cluster"], ["--profile", "pgbouncer", "--profile", "tools"]])
def test_compose_file_validates(profiles: list[str]) -> None:
    result = compose(*profiles, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_every_service_runs_with_health_checks_and_restart_policies() -> None:
    yaml = pytest.importorskip("yaml")
    result = compose("--profile", "cluster", "config")
    assert result.returncode == 0, result.stderr
    services: dict[str, Any] = yaml.safe_load(result.stdout)["services"]
    names = {s: s.replace("_", "-") for s in runnable_services()}  # host names: no underscores
    missing = [s for s, name in names.items() if name not in services]
    assert not missing, f"add {missing} to compose.yaml (every services/<name>/service.py runs there)"
    for name in [*names.values(), "gateway", "postgres", "nats", "nats-1", "nats-2", "nats-3"]:
        assert services[name].get("healthcheck", {}).get("test"), name
        assert services[name].get("restart") == "unless-stopped", name
    for service, name in names.items():
        config = services[name]
        assert config["command"] == ["python", "-m", "services.runtime.serve", service]
        assert config["environment"]["ERP_NATS_URL"] == "nats://nats:4222"
        assert config["environment"]["ERP_DATABASE_URL"] == "postgresql://erp:erp@postgres:5432/postgres"
        assert config["environment"][f"ERP_{service.upper()}_GRPC_ADDRESS"].startswith(f"{name}:")
        assert "services.ops.healthcheck" in config["healthcheck"]["test"]
    assert services["gateway"]["command"] == ["python", "-m", "gateway"]
    secrets = ("ERP_PII_KEYS", "ERP_PII_ACTIVE_KEY", "ERP_IDENTITY_KEY", "ERP_ENV", "ERP_SECURITY")
    for name in [*names.values(), "gateway"]:  # the same secrets reach every container
        assert all(key in services[name]["environment"] for key in secrets), name
    routes = (ROOT / "deploy/nats/cluster.conf").read_text()
    assert all(f"nats://nats-{i}:6222" in routes for i in (1, 2, 3))
    assert "pool_mode = transaction" in (ROOT / "deploy/pgbouncer/pgbouncer.ini").read_text()
