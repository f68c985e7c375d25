"""The operator commands are part of `erp` and explain themselves."""

from __future__ import annotations

import pytest

from services.ops.cli import build_parser, main


@pytest.mark.parametrize("command", ["backup", "restore", "basebackup", "reconcile"])
def test_every_operator_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([command, "--help"])
    assert exit_.value.code == 0
    assert f"usage: erp {command}" in capsys.readouterr().out


def test_restore_needs_a_folder_or_a_time(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERP_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/postgres")
    with pytest.raises(SystemExit) as exit_:
        main(["restore"])
    assert exit_.value.code == 2
    assert "--to-time" in capsys.readouterr().err
