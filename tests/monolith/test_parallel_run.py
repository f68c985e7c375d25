"""The parallel run: writes to the monolith after the copy reach the services exactly once (the
employee's through its unit of work, with events), `compare` then finds no difference; cutover
makes one service's monolith tables read-only, rollback makes them writable again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from services.ops.monolith_migration.analyse import run_analyse
from services.ops.monolith_migration.backfill import run_backfill
from services.ops.monolith_migration.common import Context, MigrationError
from services.ops.monolith_migration.compare import run_compare
from services.ops.monolith_migration.cutover import run_cutover
from services.ops.monolith_migration.extract import run_extract
from services.ops.monolith_migration.sync import run_sync
from services.ops.monolith_migration.verify import run_verify
from services.runtime.settings import Settings
from tests.monolith.conftest import clone


async def migrate(ctx: Context) -> None:
    assert (await run_sync(ctx, install_capture=True)).ok
    for step in (run_analyse, run_extract, run_backfill):
        result = await step(ctx)
        assert result.ok, result.render()


async def monolith_writes(conn: asyncpg.Connection) -> dict[str, uuid.UUID]:
    """What the monolith's application does during the parallel run, in one transaction."""
    ids = {k: uuid.uuid4() for k in ("department", "employee", "invoice", "record", "entry")}
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO departments (id, name, code) VALUES ($1, 'Parallel Run', 'PRUN')", ids["department"]
        )
        await conn.execute(
            "INSERT INTO employees (id, first_name, last_name, email, job_title, salary, hire_date, status, "
            "department_id) "
            "VALUES ($1, 'Nova', 'Sync', 'nova.sync@example.com', 'Engineer', 90000, '2025-11-01', 'active', $2)",
            ids["employee"],
            ids["department"],
        )
        await conn.execute("UPDATE departments SET manager_id = $1 WHERE id = $2", ids["employee"], ids["department"])
        ids["raised"] = await conn.fetchval(
            "UPDATE employees SET salary = salary + 1000, version = version + 1 "
            "WHERE id = (SELECT id FROM employees ORDER BY email LIMIT 1 OFFSET 5) RETURNING id"
        )
        ids["terminated"] = await conn.fetchval(
            "UPDATE employees SET status = 'terminated', termination_date = '2025-12-31', version = version + 1 "
            "WHERE id = (SELECT id FROM employees ORDER BY email LIMIT 1 OFFSET 6) RETURNING id"
        )
        ids["renamed"] = await conn.fetchval(
            "UPDATE departments SET name = name || ' (renamed)' WHERE id = (SELECT id FROM departments ORDER BY code "
            "LIMIT 1) RETURNING id"
        )
        ids["customer"] = await conn.fetchval("SELECT id FROM customers ORDER BY email LIMIT 1")
        await conn.execute(
            "INSERT INTO invoices (id, invoice_number, customer_id, invoice_date, due_date, subtotal, tax_amount, "
            "total_amount, status) "
            "VALUES ($1, 'INV-2026-000007', $2, '2026-01-05', '2026-02-04', 100, 19, 119, 'sent')",
            ids["invoice"],
            ids["customer"],
        )
        await conn.execute(
            "INSERT INTO invoice_line_items (invoice_id, line_number, description, quantity, unit_price, amount) "
            "VALUES ($1, 1, 'Consulting', 1, 100, 100)",
            ids["invoice"],
        )
        await conn.execute(
            "UPDATE inventory_items SET quantity_on_hand = quantity_on_hand + 5 WHERE sku = 'SKU-0000003'"
        )
        ids["reservation"] = await conn.fetchval(
            "DELETE FROM stock_reservations WHERE id = (SELECT id FROM stock_reservations ORDER BY id LIMIT 1) "
            "RETURNING id"
        )
        # January 2026 payroll for the new employee, posted: a new period, run and journal number year
        await conn.execute(
            "INSERT INTO journal_entries (id, journal_number, entry_date, description, reference, source_service, "
            "source_id, total_debit, total_credit, status, posted_at) VALUES ($1, 'JE-2026-000001', '2026-01-31', "
            "'Payroll', $3, 'payroll', $2, 7500, 7500, 'posted', now())",
            ids["entry"],
            ids["record"],
            f"payroll.expense:{ids['record']}",
        )
        await conn.execute(
            "INSERT INTO journal_entry_lines (journal_entry_id, line_number, account_code, debit_amount, "
            "credit_amount) VALUES ($1, 1, '5200', 7500, 0), ($1, 2, '2200', 0, 1500), ($1, 3, '2100', 0, 6000)",
            ids["entry"],
        )
        await conn.execute(
            "INSERT INTO general_ledger (account_code, transaction_date, journal_entry_id, debit_amount, "
            "credit_amount, running_balance) SELECT l.account_code, '2026-01-31', $1, l.debit_amount, l.credit_amount, "
            "coalesce((SELECT g.running_balance FROM general_ledger g WHERE g.account_code = l.account_code "
            "ORDER BY g.transaction_date DESC, g.seq DESC LIMIT 1), 0) + l.debit_amount + l.credit_amount "
            "FROM journal_entry_lines l WHERE l.journal_entry_id = $1 ORDER BY l.line_number",
            ids["entry"],
        )
        await conn.execute(
            "INSERT INTO payroll_records (id, employee_id, pay_period_start, pay_period_end, gross_pay, federal_tax, "
            "state_tax, social_security_tax, medicare_tax, net_pay, status, accounting_transaction_id, approved_by, "
            "approved_at, processed_at) VALUES ($1, $2, '2026-01-01', '2026-01-31', 7500, 900, 375, 225, 0, 6000, "
            "'processed', $3, $2, now(), now())",
            ids["record"],
            ids["employee"],
            ids["entry"],
        )
    return ids


async def test_parallel_run_changes_arrive_exactly_once(
    settings: Settings, monolith_url: str, make_context: Callable[[str, str, Path], Context], tmp_path: Path
) -> None:
    url = await clone(settings, monolith_url, "erptest_monolith_parallel")
    ctx = make_context("d", url, tmp_path)
    await migrate(ctx)
    src = await asyncpg.connect(url)
    try:
        ids = await monolith_writes(src)
    finally:
        await src.close()

    first = await run_sync(ctx)
    assert first.ok, first.render()
    s = first.data["services"]
    assert s["employee"]["written"] == {"departments": [1, 1, 0], "employees": [1, 2, 0]}
    assert s["employee"]["events"] == 5
    assert s["payroll"]["written"] == {"payroll_runs": [1, 0, 0], "payroll_records": [1, 0, 0]}
    assert s["accounting"]["written"]["journal_entry_lines"] == [3, 0, 0]
    assert s["billing"]["written"]["customers"] == [0, 1, 0]  # its balance, recomputed
    assert s["inventory"]["written"] == {"inventory_items": [0, 1, 0], "stock_reservations": [0, 0, 1]}
    assert s["finance"]["written"] == {"budgets": [0, 1, 0]}  # keyed by the renamed department's name

    employee_db = await asyncpg.connect(ctx.target_url("employee"))
    payroll_db = await asyncpg.connect(ctx.target_url("payroll"))
    try:
        events = [tuple(r) for r in await employee_db.fetch("SELECT event_type, aggregate_id FROM event_store")]
        assert sorted(events) == sorted(
            [
                ("erp.employee.v1.DepartmentCreated", ids["department"]),
                ("erp.employee.v1.DepartmentUpdated", ids["renamed"]),
                ("erp.employee.v1.EmployeeCreated", ids["employee"]),
                ("erp.employee.v1.EmployeeUpdated", ids["raised"]),
                ("erp.employee.v1.EmployeeTerminated", ids["terminated"]),
            ]
        )
        assert await employee_db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 5
        assert (
            await employee_db.fetchval("SELECT manager_id FROM departments WHERE id = $1", ids["department"])
            == (ids["employee"])
        )
        cached = await payroll_db.fetchrow("SELECT * FROM employee_cache WHERE employee_id = $1", ids["employee"])
        assert cached is not None and cached["department"] == "Parallel Run"

        second = await run_sync(ctx)  # nothing is applied twice
        assert second.ok
        assert {v["changes"] for v in second.data["services"].values()} == {0}
        assert await employee_db.fetchval("SELECT count(*) FROM event_store") == 5
    finally:
        await employee_db.close()
        await payroll_db.close()

    # A monolith transaction still open when a sync starts drew its change number before a later
    # one committed: the sync waits for it instead of moving its cursor past it.
    slow, fast = await asyncpg.connect(url), await asyncpg.connect(url)
    try:
        late = slow.transaction()
        await late.start()
        await slow.execute(
            "UPDATE employees SET job_title = 'Late', version = version + 1 WHERE id = $1", ids["raised"]
        )
        await fast.execute(
            "UPDATE employees SET job_title = 'Early', version = version + 1 WHERE id = $1", ids["employee"]
        )
        pending = asyncio.create_task(run_sync(ctx))
        await asyncio.sleep(0.5)
        assert not pending.done()
        await late.commit()
        third = await pending
        assert third.data["services"]["employee"]["written"] == {"employees": [0, 2, 0]}
    finally:
        await slow.close()
        await fast.close()

    compared = await run_compare(ctx)
    assert compared.ok, compared.render()
    verified = await run_verify(ctx)
    assert verified.ok, verified.render()


async def test_cutover_and_rollback_of_one_service(
    settings: Settings, monolith_url: str, make_context: Callable[[str, str, Path], Context], tmp_path: Path
) -> None:
    url = await clone(settings, monolith_url, "erptest_monolith_cutover")
    ctx = make_context("e", url, tmp_path)
    await migrate(ctx)
    src = await asyncpg.connect(url)
    supply_chain = await asyncpg.connect(ctx.target_url("supply_chain"))
    try:
        with pytest.raises(MigrationError, match="cut over supply_chain, inventory"):
            await run_cutover(ctx, "procurement")  # the spec's order: supply chain and inventory first

        shipment = await src.fetchval(
            "INSERT INTO shipments (shipment_number, order_id, shipment_type, carrier) "
            "VALUES ('SH-2026-000001', gen_random_uuid(), 'outbound', 'DHL') RETURNING id"
        )
        cut = await run_cutover(ctx, "supply_chain")
        assert cut.ok, cut.render()
        assert cut.data["statuses"]["supply_chain"] == "cut_over"
        # the write made just before the cutover was drained into the service
        assert await supply_chain.fetchval("SELECT shipment_number FROM shipments WHERE id = $1", shipment) == (
            "SH-2026-000001"
        )
        assert await supply_chain.fetchval("SELECT last_number FROM shipment_number_sequences WHERE year = 2026") == 1
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError, match="supply_chain service owns it"):
            await src.execute("UPDATE shipments SET carrier = 'UPS' WHERE id = $1", shipment)
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await src.execute("INSERT INTO carrier_performance (carrier, metric_date) VALUES ('DHL', '2026-01-01')")
        await src.execute("UPDATE inventory_items SET reorder_point = 25 WHERE sku = 'SKU-0000001'")  # not cut over

        rolled = await run_cutover(ctx, "supply_chain", rollback=True)
        assert rolled.ok, rolled.render()
        assert rolled.data["statuses"]["supply_chain"] == "rolled_back"
        await src.execute("UPDATE shipments SET carrier = 'UPS' WHERE id = $1", shipment)  # accepted again
        synced = await run_sync(ctx)
        assert synced.data["services"]["supply_chain"]["written"]["shipments"] == [0, 1, 0]
        assert await supply_chain.fetchval("SELECT carrier FROM shipments WHERE id = $1", shipment) == "UPS"

        assert (await run_cutover(ctx, "supply_chain")).ok
        assert (await run_cutover(ctx, "supply_chain", finalise=True)).data["statuses"]["supply_chain"] == "finalised"
        with pytest.raises(MigrationError, match="finalised"):
            await run_cutover(ctx, "supply_chain", rollback=True)
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await src.execute("DELETE FROM shipments")
    finally:
        await src.close()
        await supply_chain.close()
