"""The benchmark harness cannot rot: `python -m bench --size tiny` runs every scenario once and
each writes its JSON with the expected figures. Nothing here looks at how fast anything was."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
KEYS = {"scenario", "timestamp", "size", "sizes", "machine", "repeats", "figures", "info", "targets", "notes", "error"}
FIGURES = {
    "gateway_read": ["gateway_c1_rps", "direct_c1_rps", "monolith_c1_rps", "gateway_rpcs_per_request"],
    "relay": ["relay_events_per_s", "raw_publish_async_events_per_s", "relay_over_raw"],
    "propagation": ["propagation_p50_ms", "propagation_p95_ms"],
    "payroll_run": ["services_records", "services_total_s", "monolith_records", "monolith_total_s"],
    "write_path": ["grpc_create_employee_c1_rps", "raw_create_employee_c1_rps", "grpc_post_entry_c1_rps"],
    "erp_up": ["first_start_to_ready_s"],
}


def test_every_scenario_writes_its_figures(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bench", "--size", "tiny", "--no-fsync", "--results-dir", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    for scenario, figures in FIGURES.items():
        files = list(tmp_path.glob(f"{scenario}-*.json"))
        assert len(files) == 1, scenario
        body = json.loads(files[0].read_text())
        assert body.keys() >= KEYS and body["error"] is None, body["error"]
        assert body["scenario"] == scenario and body["size"] == "tiny" and body["repeats"] >= 1
        machine = body["machine"]
        assert machine["cpu_count"] >= 1 and machine["python"] and machine["postgres"] and machine["nats"]
        for name in figures:
            summary = body["figures"][name]
            assert summary["n"] >= 1 and summary["median"] > 0, (scenario, name, summary)
        assert all({"name", "figure", "target", "value", "met"} <= t.keys() for t in body["targets"])
