"""The contracts: generated code and SDL are current, buf lint passes, and the declarations
(logical references, sensitive fields) are consistent and used."""

from __future__ import annotations

import filecmp
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from erp.common.v1 import options_pb2
from google.protobuf.descriptor import Descriptor

from services.runtime.events import load_event_modules
from services.runtime.redaction import assert_no_sensitive_fields, sensitive_field_names
from services.runtime.settings import SERVICES

ROOT = Path(__file__).resolve().parent.parent


def _diff(a: Path, b: Path) -> list[str]:
    """Files that differ or exist on one side only, recursively (ignoring caches)."""
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__"])
    out = [str(a / n) for n in cmp.diff_files + cmp.left_only + cmp.right_only]
    for sub in cmp.common_dirs:
        out += _diff(a / sub, b / sub)
    return out


def test_generated_code_and_sdl_are_current(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "tools" / "codegen.py"), "--out", str(tmp_path)], check=True)
    stale = _diff(ROOT / "generated" / "erp", tmp_path / "generated" / "erp")
    stale += _diff(ROOT / "third_party" / "googleapis", tmp_path / "third_party" / "googleapis")
    sdl = tmp_path / "gateway" / "schema.graphql"
    if sdl.exists() and sdl.read_text() != (ROOT / "gateway" / "schema.graphql").read_text():
        stale.append("gateway/schema.graphql")
    assert not stale, f"run `make codegen` and commit: stale {stale}"


def test_buf_lint_passes() -> None:
    buf = shutil.which("buf", path=str(Path(sys.executable).parent))
    if buf is None:
        pytest.skip("buf-bin is not installed")
    result = subprocess.run([buf, "lint"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _messages(service: str) -> list[Descriptor]:
    out: list[Descriptor] = []
    for path in sorted((ROOT / "generated" / "erp" / service / "v1").glob("*_pb2.py")):
        module = importlib.import_module(f"erp.{service}.v1.{path.stem}")
        out.extend(module.DESCRIPTOR.message_types_by_name.values())
    return out


@pytest.mark.parametrize("service", SERVICES)
def test_references_point_at_real_messages_and_fields(service: str) -> None:
    load_event_modules()
    from google.protobuf import symbol_database

    db = symbol_database.Default()
    for message in _messages(service):
        for field in message.fields:
            ref = field.GetOptions().Extensions[options_pb2.ref]
            if not ref.target:
                continue
            target = db.pool.FindMessageTypeByName(ref.target)
            assert (ref.target_field or "id") in target.fields_by_name, f"{message.full_name}.{field.name}"


@pytest.mark.parametrize("service", SERVICES)
def test_no_event_carries_a_sensitive_field(service: str) -> None:
    module = importlib.import_module(f"erp.{service}.v1.events_pb2")
    for descriptor in module.DESCRIPTOR.message_types_by_name.values():
        assert_no_sensitive_fields(module.__dict__[descriptor.name]())


def test_employee_sensitive_fields_are_declared() -> None:
    from erp.employee.v1 import employee_pb2

    assert sensitive_field_names(employee_pb2.Employee.DESCRIPTOR) == {
        "social_security_number",
        "bank_account_number",
    }
