"""The scenarios, in the order `python -m bench` runs them: the payroll run comes before the
salary updates of the propagation scenario and the hires of the write path, so the services and
the monolith pay the same employees the same amounts."""

from __future__ import annotations

from types import ModuleType

from bench.scenarios import erp_up, gateway_read, payroll_run, propagation, relay, write_path

SCENARIOS: dict[str, ModuleType] = {
    m.NAME: m for m in (gateway_read, relay, payroll_run, propagation, write_path, erp_up)
}
STANDALONE = {erp_up.NAME}  # needs no prepared system (it starts its own)
