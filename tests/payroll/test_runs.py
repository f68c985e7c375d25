"""RunPayroll: who is paid, how much, never twice; reading runs and records back; deductions."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from decimal import Decimal

import asyncpg
import pytest
from erp.payroll.v1 import events_pb2 as ev
from erp.payroll.v1 import payroll_pb2 as pb
from erp.payroll.v1 import payroll_service_pb2 as api
from google.protobuf.field_mask_pb2 import FieldMask

from services.payroll import domain
from tests.payroll.helpers import (
    AS_APPROVER,
    CREATOR_ID,
    Code,
    SagaPayroll,
    Stub,
    cache_employee,
    day,
    dec,
    outbox_events,
    records_of,
    rejected,
    rpc_error,
    run_payroll,
    tag,
)

pytestmark = pytest.mark.usefixtures("standard_rates")
MARCH = (day(2024, 3, 1), day(2024, 3, 31))
RATES = domain.TaxRates(Decimal("0.1000"), Decimal("0.0500"), Decimal("0.0620"), Decimal("0.0145"))


def money(value: str) -> Decimal:
    return Decimal(value)


async def test_a_run_pays_the_employed_prorated_with_totals(stub: Stub, db: asyncpg.Connection) -> None:
    dept = f"Engineering {tag()}"
    full = await cache_employee(db, dept, first_name="Ada", last_name="Lovelace")
    on_leave = await cache_employee(db, dept, status="on_leave")
    hired = await cache_employee(db, dept, hire_date=date(2024, 3, 16))
    leaver = await cache_employee(db, dept, status="terminated", termination_date=date(2024, 3, 10))
    await cache_employee(db, dept, status="terminated", termination_date=date(2024, 2, 29))  # left before
    await cache_employee(db, dept, hire_date=date(2024, 4, 1))  # starts after
    await cache_employee(db, f"Other {tag()}")  # another department

    response = await run_payroll(stub, *MARCH, dept)
    run = response.payroll_run
    records = {r.employee_id: r for r in await records_of(stub, run.id)}
    gross = {k: r.gross_pay.value for k, r in records.items()}
    assert gross == {str(full): "5000.00", str(on_leave): "5000.00", str(hired): "2580.65", str(leaver): "1612.90"}
    assert response.skipped_employee_ids == []
    ada = records[str(full)]
    assert (ada.employee_name, ada.department, ada.status) == ("Ada Lovelace", dept, pb.PAYROLL_RECORD_STATUS_PENDING)
    assert (ada.federal_tax.value, ada.state_tax.value, ada.social_security_tax.value, ada.medicare_tax.value) == (
        "500.00",
        "250.00",
        "310.00",
        "72.50",
    )
    assert (ada.deductions.value, ada.net_pay.value, ada.version) == ("0.00", "3867.50", 1)
    assert (run.status, run.employee_count, run.created_by, run.department) == (
        pb.PAYROLL_RUN_STATUS_PENDING,
        4,
        CREATOR_ID,
        dept,
    )
    assert money(run.total_gross.value) == sum(money(r.gross_pay.value) for r in records.values())
    assert money(run.total_net.value) == sum(money(r.net_pay.value) for r in records.values())
    assert money(run.total_medicare_tax.value) == sum(money(r.medicare_tax.value) for r in records.values())
    created = await outbox_events(db, "erp.payroll.v1.PayrollRunCreated", [run.id])
    assert len(created) == 1
    event = ev.PayrollRunCreated.FromString(created[0]["payload"])
    assert (event.employee_count, event.total_gross, event.created_by) == (4, run.total_gross, CREATOR_ID)


async def test_running_a_period_twice_pays_nobody_twice(stub: Stub, db: asyncpg.Connection) -> None:
    dept = f"Twice {tag()}"
    first_ids = {str(await cache_employee(db, dept)) for _ in range(3)}
    first = await run_payroll(stub, *MARCH, dept)
    assert first.payroll_run.employee_count == 3

    again = await run_payroll(stub, *MARCH, dept)
    assert again.payroll_run.employee_count == 0
    assert again.payroll_run.total_gross.value == "0.00"
    assert set(again.skipped_employee_ids) == first_ids

    newcomer = str(await cache_employee(db, dept))
    third = await run_payroll(stub, *MARCH, dept)
    assert [r.employee_id for r in await records_of(stub, third.payroll_run.id)] == [newcomer]
    # An overlapping period is skipped too: nobody is paid twice for a day.
    overlap = await run_payroll(stub, day(2024, 3, 15), day(2024, 4, 14), dept)
    assert overlap.payroll_run.employee_count == 0
    assert set(overlap.skipped_employee_ids) == first_ids | {newcomer}
    paid = await db.fetch(
        "SELECT employee_id, count(*) AS n FROM payroll_records WHERE department = $1 GROUP BY employee_id", dept
    )
    assert {str(r["employee_id"]): r["n"] for r in paid} == dict.fromkeys(first_ids | {newcomer}, 1)


async def test_concurrent_runs_of_one_period_pay_everyone_once(stub: Stub, db: asyncpg.Connection) -> None:
    dept = f"Race {tag()}"
    for _ in range(20):
        await cache_employee(db, dept)
    first, second = await asyncio.gather(run_payroll(stub, *MARCH, dept), run_payroll(stub, *MARCH, dept))
    assert sorted([first.payroll_run.employee_count, second.payroll_run.employee_count]) == [0, 20]
    assert await db.fetchval("SELECT count(*) FROM payroll_records WHERE department = $1", dept) == 20


async def test_a_run_over_two_thousand_employees_is_set_based(
    stub: Stub, db: asyncpg.Connection, saga: SagaPayroll
) -> None:
    dept = f"Big {tag()}"
    await db.execute(
        "INSERT INTO employee_cache (employee_id, first_name, last_name, email, salary, department, status, "
        "hire_date, termination_date, employee_version) "
        "SELECT gen_random_uuid(), 'First' || g, 'Last' || g, 'e' || g || '@example.com', 30000 + g * 12.34, $1, "
        "CASE WHEN g % 10 = 0 THEN 'on_leave' ELSE 'active' END, "
        "CASE WHEN g % 7 = 0 THEN DATE '2024-03-10' ELSE DATE '2020-01-01' END, NULL, 1 "
        "FROM generate_series(1, 2000) AS g",
        dept,
    )
    cached = await db.fetch("SELECT salary, hire_date FROM employee_cache WHERE department = $1", dept)
    expected = [
        domain.calculate_pay(c["salary"], date(2024, 3, 1), date(2024, 3, 31), c["hire_date"], None, RATES)
        for c in cached
    ]
    run = (await run_payroll(stub, *MARCH, dept)).payroll_run
    assert run.employee_count == 2000
    assert money(run.total_gross.value) == sum(p.gross for p in expected if p)
    assert money(run.total_net.value) == sum(p.net for p in expected if p)
    sums = await db.fetchrow(
        "SELECT count(*) AS n, sum(gross_pay) AS gross, sum(net_pay) AS net, sum(federal_tax + state_tax + "
        "social_security_tax + medicare_tax) AS taxes FROM payroll_records WHERE payroll_run_id = $1",
        uuid.UUID(run.id),
    )
    assert (sums["n"], sums["gross"], sums["net"]) == (2000, money(run.total_gross.value), money(run.total_net.value))
    taxes = sum(
        money(t.value)
        for t in (run.total_federal_tax, run.total_state_tax, run.total_social_security_tax, run.total_medicare_tax)
    )
    assert sums["taxes"] == taxes

    # Approved on the private-subject instance: no accounting service in the session reacts.
    approved = (
        await saga.stub.ApprovePayrollRun(api.ApprovePayrollRunRequest(id=run.id), metadata=AS_APPROVER)
    ).payroll_run
    assert approved.status == pb.PAYROLL_RUN_STATUS_PROCESSING
    ids = [
        str(r["id"])
        for r in await db.fetch("SELECT id FROM payroll_records WHERE payroll_run_id = $1", uuid.UUID(run.id))
    ]
    per_record = await db.fetch(
        "SELECT aggregate_id, count(*) AS n FROM outbox WHERE event_type = 'erp.payroll.v1.PayrollProcessed' "
        "AND aggregate_id = ANY($1::text[]) GROUP BY aggregate_id",
        ids,
    )
    assert len(per_record) == 2000 and {r["n"] for r in per_record} == {1}


async def test_bad_run_requests_are_invalid_and_write_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    def call(start: object, end: object, department: str = "") -> object:
        return stub.RunPayroll(
            api.RunPayrollRequest(pay_period_start=start, pay_period_end=end, department=department)  # type: ignore[arg-type]
        )

    await rejected(
        db,
        lambda: call(day(0, 0, 0), day(2024, 2, 30)),
        Code.INVALID_ARGUMENT,
        fields=("pay_period_start", "pay_period_end"),
    )
    await rejected(
        db, lambda: call(day(2024, 3, 31), day(2024, 3, 1)), Code.INVALID_ARGUMENT, fields=("pay_period_end",)
    )
    await rejected(
        db, lambda: call(day(2022, 1, 1), day(2024, 1, 1)), Code.INVALID_ARGUMENT, fields=("pay_period_end",)
    )
    await rejected(db, lambda: call(*MARCH, "x" * 101), Code.INVALID_ARGUMENT, fields=("department",))


async def test_reading_runs_and_records(stub: Stub, db: asyncpg.Connection) -> None:
    dept = f"Reading {tag()}"
    names = ["Carol", "Alice", "Bob"]
    for n in names:
        await cache_employee(db, dept, first_name=n, last_name="Zed")
    feb = (await run_payroll(stub, day(2024, 2, 1), day(2024, 2, 29), dept)).payroll_run
    mar = (await run_payroll(stub, *MARCH, dept)).payroll_run

    got = (await stub.GetPayrollRun(api.GetPayrollRunRequest(id=feb.id))).payroll_run
    assert got == feb
    batch = await stub.BatchGetPayrollRuns(api.BatchGetPayrollRunsRequest(ids=[feb.id, mar.id, str(uuid.uuid4())]))
    assert {r.id for r in batch.payroll_runs} == {feb.id, mar.id}
    runs = await stub.ListPayrollRuns(api.ListPayrollRunsRequest(department=dept))
    assert [r.id for r in runs.payroll_runs] == [mar.id, feb.id] and runs.total_size == 2

    # Newest period first, then employee name; pages of two.
    seen: list[tuple[str, str]] = []
    token = ""
    while True:
        page = await stub.ListPayrollRecords(
            api.ListPayrollRecordsRequest(department=dept, page_size=2, page_token=token)
        )
        assert page.total_size == 6
        seen.extend((f"{r.pay_period_start.month}", r.employee_name.split()[0]) for r in page.payroll_records)
        token = page.next_page_token
        if not token:
            break
    assert seen == [("3", "Alice"), ("3", "Bob"), ("3", "Carol"), ("2", "Alice"), ("2", "Bob"), ("2", "Carol")]

    some = (await records_of(stub, feb.id))[0]
    one = (await stub.GetPayrollRecord(api.GetPayrollRecordRequest(id=some.id))).payroll_record
    assert one == some
    by_employee = await stub.ListPayrollRecords(
        api.ListPayrollRecordsRequest(
            employee_ids=[some.employee_id],
            statuses=[pb.PAYROLL_RECORD_STATUS_PENDING],
            period_start_from=day(2024, 3, 1),
        )
    )
    assert [(r.employee_id, r.payroll_run_id) for r in by_employee.payroll_records] == [(some.employee_id, mar.id)]
    # per_employee_limit: each employee's latest record only, with every employee's count.
    jan = (await run_payroll(stub, day(2024, 1, 1), day(2024, 1, 31), dept)).payroll_run
    everyone = sorted({r.employee_id for r in await records_of(stub, feb.id)})
    latest = await stub.ListPayrollRecords(
        api.ListPayrollRecordsRequest(employee_ids=everyone, per_employee_limit=1, page_size=2)
    )
    rest = await stub.ListPayrollRecords(
        api.ListPayrollRecordsRequest(
            employee_ids=everyone, per_employee_limit=1, page_size=2, page_token=latest.next_page_token
        )
    )
    firsts = list(latest.payroll_records) + list(rest.payroll_records)
    assert [(r.payroll_run_id, r.employee_name.split()[0]) for r in firsts] == [
        (mar.id, "Alice"),
        (mar.id, "Bob"),
        (mar.id, "Carol"),
    ]
    assert latest.total_size == 3 and not rest.next_page_token
    assert {(c.employee_id, c.total_size) for c in latest.employee_counts} == {(e, 3) for e in everyone}
    two = await stub.ListPayrollRecords(
        api.ListPayrollRecordsRequest(employee_ids=everyone[:1], per_employee_limit=2, period_end_to=day(2024, 2, 29))
    )
    assert [r.payroll_run_id for r in two.payroll_records] == [feb.id, jan.id]
    assert [(c.employee_id, c.total_size) for c in two.employee_counts] == [(everyone[0], 2)]
    for bad in (
        api.ListPayrollRecordsRequest(per_employee_limit=1),
        api.ListPayrollRecordsRequest(employee_ids=everyone, per_employee_limit=1001),
    ):
        err = await rpc_error(stub.ListPayrollRecords(bad), Code.INVALID_ARGUMENT)
        assert "per_employee_limit" in (err.details() or "")

    many = await stub.BatchGetPayrollRecords(api.BatchGetPayrollRecordsRequest(ids=[some.id, some.id]))
    assert [r.id for r in many.payroll_records] == [some.id]
    await rpc_error(stub.GetPayrollRecord(api.GetPayrollRecordRequest(id=str(uuid.uuid4()))), Code.NOT_FOUND)
    await rpc_error(stub.GetPayrollRun(api.GetPayrollRunRequest(id=str(uuid.uuid4()))), Code.NOT_FOUND)
    err = await rpc_error(
        stub.ListPayrollRecords(api.ListPayrollRecordsRequest(statuses=[0], payroll_run_id="x")), Code.INVALID_ARGUMENT
    )
    assert "statuses" in (err.details() or "") and "payroll_run_id" in (err.details() or "")


async def test_deductions_change_only_pending_records(stub: Stub, db: asyncpg.Connection, saga: SagaPayroll) -> None:
    dept = f"Deduct {tag()}"
    await cache_employee(db, dept)
    run = (await run_payroll(stub, *MARCH, dept)).payroll_run
    record = (await records_of(stub, run.id))[0]

    def update(deductions: str, version: int, paths: tuple[str, ...] = ("deductions",)) -> object:
        return stub.UpdatePayrollRecord(
            api.UpdatePayrollRecordRequest(
                payroll_record=pb.PayrollRecord(id=record.id, deductions=dec(deductions)),
                update_mask=FieldMask(paths=list(paths)),
                version=version,
            )
        )

    updated = (await update("150.00", record.version)).payroll_record  # type: ignore[attr-defined]
    assert (updated.deductions.value, updated.net_pay.value, updated.version) == ("150.00", "3717.50", 2)
    after = (await stub.GetPayrollRun(api.GetPayrollRunRequest(id=run.id))).payroll_run
    assert (after.total_deductions.value, after.total_net.value) == ("150.00", "3717.50")

    await rejected(db, lambda: update("10.00", 1), Code.ABORTED)
    await rejected(db, lambda: update("3867.51", 2), Code.INVALID_ARGUMENT, fields=("payroll_record.deductions",))
    await rejected(db, lambda: update("-1.00", 2), Code.INVALID_ARGUMENT, fields=("payroll_record.deductions",))
    await rejected(db, lambda: update("1.001", 2), Code.INVALID_ARGUMENT, fields=("payroll_record.deductions",))
    await rejected(db, lambda: update("1.00", 2, ("net_pay",)), Code.INVALID_ARGUMENT, fields=("update_mask",))
    await saga.stub.ApprovePayrollRun(api.ApprovePayrollRunRequest(id=run.id), metadata=AS_APPROVER)
    await rejected(db, lambda: update("1.00", 0), Code.FAILED_PRECONDITION)
