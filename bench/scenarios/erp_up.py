"""(6) `erp up` from a warm install to healthy ("Ready." printed: every service answers gRPC
health and the gateway /healthz): first with an empty data directory (initdb, databases,
migrations, streams) and then restarted on the same data; also how long Ctrl-C takes. At full
size also the test suite's wall time: `make test`'s pytest run, once, on its own embedded
servers (while nothing else of the benchmark runs)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Result
from bench.sizes import Size
from bench.stack import ROOT
from services.ops.embedded import free_port
from services.runtime.settings import SERVICES

NAME = "erp_up"
TIMEOUT_S = 300.0


def environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ERP_")}
    env.update(
        {
            "ERP_DATA_DIR": str(data_dir),
            "ERP_EMBEDDED_PG_PORT": str(free_port()),
            "ERP_LOG_LEVEL": "WARNING",
            "ERP_EMBEDDED_NATS_PORT": str(free_port()),
            "ERP_GATEWAY_PORT": str(free_port()),
        }
    )
    env.update({f"ERP_{s.upper()}_GRPC_PORT": str(free_port()) for s in SERVICES})
    return env


def up_once(env: dict[str, str]) -> tuple[float, float]:
    """Seconds until "Ready.", then seconds from SIGINT until the command exited."""
    started = time.perf_counter()
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
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if line.startswith("Ready."):
                break
            if time.perf_counter() - started > TIMEOUT_S:
                raise RuntimeError("erp up not ready in time")
        else:
            raise RuntimeError("erp up exited before it was ready:\n" + "".join(output[-30:]))
        ready = time.perf_counter() - started
        stopping = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
        return ready, time.perf_counter() - stopping
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_suite() -> dict[str, float]:
    """`python -m pytest -q` as `make test` runs it: wall seconds, tests passed and failed."""
    env = {k: v for k, v in os.environ.items() if k not in ("ERP_DATABASE_URL", "ERP_NATS_URL")}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    wall = time.perf_counter() - started
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|errors?)", summary)}
    return {
        "test_suite_wall_s": wall,
        "test_suite_passed": float(counts.get("passed", 0)),
        "test_suite_failed": float(counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)),
    }


async def run(size: Size) -> Result:
    result = Result(NAME, size)
    with tempfile.TemporaryDirectory(prefix="erp-bench-up-") as tmp:
        for r in range(size.erp_up_repeats):
            env = environment(Path(tmp) / f"data{r}")
            first, stop = await asyncio.to_thread(up_once, env)
            figs = {"first_start_to_ready_s": first, "stop_s": stop}
            if size.erp_up_restart:
                again, stop = await asyncio.to_thread(up_once, env)
                figs |= {"restart_to_ready_s": again, "restart_stop_s": stop}
            result.repeats.append(figs)
    if size.test_suite:
        result.repeats[0] |= await asyncio.to_thread(test_suite)
    result.notes.append(
        "first start: empty data directory (initdb, 8 databases, migrations, streams); restart: same data"
        + ("; test suite: `make test`'s pytest run once, embedded servers" if size.test_suite else "")
    )
    return result
