"""The `erp` command line against the suite's servers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.runtime.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def erp(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        {
            "ERP_DATABASE_URL": settings.database_url or "",
            "ERP_DATABASE_PREFIX": settings.database_prefix,
            "ERP_NATS_URL": settings.nats_url or "",
            "ERP_SUBJECT_ROOT": settings.subject_root,
            "ERP_DATA_DIR": str(settings.data_dir),
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "services.ops.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize("command", [[], ["up"], ["migrate"], ["status"], ["dlq"], ["dlq", "list"], ["dlq", "replay"]])
def test_every_command_has_help(settings: Settings, command: list[str]) -> None:
    result = erp(settings, *command, "--help")
    assert result.returncode == 0
    assert "usage: erp" in result.stdout


def test_migrate_is_idempotent(settings: Settings) -> None:
    for _ in range(2):
        result = erp(settings, "migrate")
        assert result.returncode == 0, result.stderr
        assert "migrated erptest_employee_db to head" in result.stdout


def test_dlq_list_and_replay_need_a_choice(settings: Settings) -> None:
    listed = erp(settings, "dlq", "list")
    assert listed.returncode == 0, listed.stderr
    replay = erp(settings, "dlq", "replay")
    assert replay.returncode == 2
    assert "--seq" in replay.stderr
