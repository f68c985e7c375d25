"""The typed part of the code base stays clean under `mypy --strict` (configuration in pyproject.toml).

Runs in-process with mypy's incremental cache (.mypy_cache), so a repeat run takes about a second.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parent.parent
CHECKED = [
    "services/runtime",
    "services/employee",
    "services/payroll",
    "services/accounting",
    "services/inventory",
    "services/billing",
    "services/supply_chain",
    "services/finance",
    "services/procurement",
    "services/ops",
    "gateway",
    "tools",
]


def test_mypy_strict_reports_no_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    # pyproject.toml's relative settings (mypy_path = "generated", excludes) are relative to the root.
    monkeypatch.chdir(ROOT)
    stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), *CHECKED])
    assert status == 0, f"mypy found errors:\n{stdout}{stderr}"
    assert "Success: no issues found" in stdout
