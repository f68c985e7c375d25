"""An extract interrupted in the middle of a table resumes where it stopped: committed units are
kept, the interrupted one is copied again from scratch, and writes the monolith took meanwhile
reach the services through sync exactly when the copy did not already contain them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from services.ops.monolith_migration.analyse import run_analyse
from services.ops.monolith_migration.backfill import run_backfill
from services.ops.monolith_migration.common import Context, Hooks
from services.ops.monolith_migration.compare import run_compare
from services.ops.monolith_migration.extract import run_extract
from services.ops.monolith_migration.sync import run_sync
from services.ops.monolith_migration.verify import run_verify
from services.runtime.settings import Settings
from tests.monolith.conftest import clone


class Crash(Exception):
    """The simulated failure of the extract process."""


async def test_interrupted_extract_resumes(
    settings: Settings, monolith_url: str, make_context: Callable[[str, str, Path], Context], tmp_path: Path
) -> None:
    url = await clone(settings, monolith_url, "erptest_monolith_resume")
    ctx = make_context("c", url, tmp_path)
    assert (await run_sync(ctx, install_capture=True)).ok
    assert (await run_analyse(ctx)).ok
    src = await asyncpg.connect(url)
    employee = await src.fetchval("SELECT id FROM employees ORDER BY email LIMIT 1")
    customer = await src.fetchval("SELECT id FROM customers ORDER BY email LIMIT 1")

    async def crash_in_the_ledger(label: str, sent: int) -> None:
        if label == "accounting.general_ledger":
            # the monolith keeps working meanwhile: a table already copied, and one not copied yet
            await src.execute(
                "UPDATE employees SET salary = salary + 500, version = version + 1 WHERE id = $1", employee
            )
            await src.execute("UPDATE customers SET name = 'Renamed GmbH' WHERE id = $1", customer)
            raise Crash(f"killed after {sent} bytes of {label}")

    ctx.hooks = Hooks(on_chunk=crash_in_the_ledger)
    with pytest.raises(Crash):
        await run_extract(ctx)
    accounting = await asyncpg.connect(ctx.target_url("accounting"))
    try:
        units = {r[0] for r in await accounting.fetch("SELECT unit FROM erp_migration.units WHERE status = 'done'")}
        assert "accounting.journal_entries+journal_entry_lines" in units
        assert "accounting.general_ledger" not in units
        assert await accounting.fetchval("SELECT count(*) FROM general_ledger") == 0  # nothing half-copied
    finally:
        await accounting.close()

    ctx.hooks = Hooks()
    resumed = await run_extract(ctx)
    assert resumed.ok, resumed.render()
    copied = list(resumed.data["copied"])
    assert copied[0] == "accounting.general_ledger"  # starts where it stopped
    assert "employee.employees" not in copied and "payroll.payroll_records" not in copied
    assert "billing.customers" in copied
    assert (await run_backfill(ctx)).ok

    stale = await run_verify(ctx)  # the salary change came after the employees were copied
    assert not stale.ok
    assert any(f"employee.employees id={employee}: salary" in p for p in stale.problems), stale.render()

    synced = await run_sync(ctx)
    assert synced.ok, synced.render()
    services = synced.data["services"]
    assert services["employee"]["written"]["employees"] == [0, 1, 0]
    assert services["employee"]["events"] == 1
    assert services["billing"]["skipped"] == 1  # the resumed copy already had the customer's new name
    assert "customers" not in services["billing"]["written"]
    verified = await run_verify(ctx)
    assert verified.ok, verified.render()
    assert (await run_compare(ctx)).ok
    await src.close()
