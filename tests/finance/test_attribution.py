"""Spending from accounting's events, published to NATS the way accounting's relay does:
payroll-like and procurement-like postings charged to budgets by department, category and date;
unattributed spend; BudgetExceeded exactly once per crossing; reversals; idempotency."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc
from erp.finance.v1 import finance_pb2 as pb
from erp.finance.v1 import finance_service_pb2 as api
from google.protobuf.message import Message
from nats.aio.client import Client

from services.runtime.settings import Settings
from tests.finance.helpers import (
    D,
    Stub,
    allocate,
    day,
    dec,
    finance_events,
    get_budget,
    journal_entry_posted,
    new_department,
    processed_result,
    publish,
    reversal_of,
)
from tests.runtime.helpers import eventually

Employees = emp_grpc.EmployeeServiceStub


@pytest.fixture
def send(
    nats_client: Client, finance_settings: Settings, db: asyncpg.Connection, stub: Stub
) -> Callable[..., Awaitable[Any]]:
    """Publish an event and wait until finance has applied it; returns the handler's result."""

    async def go(message: Message, event_id: uuid.UUID | None = None) -> Any:
        eid = await publish(nats_client, finance_settings, message, event_id)

        async def applied() -> Any:
            return await processed_result(db, eid)

        return await eventually(applied, timeout_s=10)

    return go


async def spent(stub: Stub, budget_id: str) -> Decimal:
    return D((await get_budget(stub, budget_id)).spent_amount)


def salary(department: str, amount: str, when: Any) -> Any:
    return journal_entry_posted(
        when, [("5200", amount, "0"), ("2200", "0", "0.00"), ("2100", "0", amount)], department=department
    )


async def test_payroll_posting_charges_the_departments_salaries_budget_quarterly_first(
    stub: Stub, employees: Employees, send: Callable[..., Awaitable[Any]], db: asyncpg.Connection
) -> None:
    dept = await new_department(employees)
    annual = await allocate(stub, dept, 2050, allocated_amount=dec("10000.00"))
    q2 = await allocate(
        stub,
        dept,
        2050,
        quarter=2,
        allocated_amount=dec("3000.00"),
        start_date=day(2050, 4, 1),
        end_date=day(2050, 6, 30),
    )
    await send(salary(dept, "1200.00", day(2050, 5, 31)))  # in Q2: the quarterly budget
    await send(salary(dept, "800.00", day(2050, 8, 31)))  # no Q3 budget: the annual one
    b = await get_budget(stub, q2.id)
    assert (D(b.spent_amount), D(b.remaining_amount), D(b.utilization_percentage)) == (D("1200"), D("1800"), D("40.00"))
    assert b.version == 2 and b.status == pb.BUDGET_STATUS_ACTIVE
    assert await spent(stub, annual.id) == D("800")
    txns = (await stub.ListBudgetTransactions(api.ListBudgetTransactionsRequest(budget_id=q2.id))).budget_transactions
    assert [(D(t.amount), t.source_service, t.transaction_date) for t in txns] == [
        (D("1200"), "payroll", day(2050, 5, 31))
    ]
    [updated] = await finance_events(db, "BudgetUpdated", q2.id)
    assert updated.spent_amount.value == "1200.00" and updated.version == 2
    # The same figures in the budget-versus-actual view.
    report = await stub.GetBudgetVsActual(api.GetBudgetVsActualRequest(fiscal_year=2050, departments=[dept]))
    assert [(r.quarter, D(r.actual_amount), D(r.variance), D(r.variance_percentage)) for r in report.rows] == [
        (0, D("800"), D("9200"), D("92.00")),
        (2, D("1200"), D("1800"), D("60.00")),
    ]
    assert (D(report.total_allocated), D(report.total_actual), D(report.total_variance)) == (
        D("13000"),
        D("2000"),
        D("11000"),
    )
    only_q2 = await stub.GetBudgetVsActual(
        api.GetBudgetVsActualRequest(fiscal_year=2050, quarter=2, departments=[dept])
    )
    assert [r.budget_id for r in only_q2.rows] == [q2.id]


async def test_expense_categories_and_procurement_purchases(
    stub: Stub, employees: Employees, send: Callable[..., Awaitable[Any]]
) -> None:
    dept = await new_department(employees)
    budgets = {
        cat: await allocate(stub, dept, 2051, category=cat)
        for cat in ("Cost of Sales", "Inventory Losses", "Operating", "Purchasing")
    }
    when = day(2051, 3, 3)
    await send(
        journal_entry_posted(
            when,
            [("5100", "10.00", "0"), ("5300", "20.00", "0"), ("5400", "30.00", "0"), ("1010", "0", "60.00")],
            department=dept,
            source_service="manual",
        )
    )
    # A purchase receipt: Dr Inventory / Cr GRNI, attributed to the requesting department.
    await send(
        journal_entry_posted(
            when, [("1300", "250.00", "0"), ("2050", "0", "250.00")], department=dept, source_service="procurement"
        )
    )
    # Inventory debits of anything else are not spending.
    await send(
        journal_entry_posted(
            when, [("1300", "99.00", "0"), ("2050", "0", "99.00")], department=dept, source_service="manual"
        )
    )
    assert {cat: await spent(stub, b.id) for cat, b in budgets.items()} == {
        "Cost of Sales": D("10"),
        "Inventory Losses": D("20"),
        "Operating": D("30"),
        "Purchasing": D("250"),
    }


async def test_unattributed_spend_is_kept_and_listed(
    stub: Stub, employees: Employees, send: Callable[..., Awaitable[Any]]
) -> None:
    dept = await new_department(employees)
    closed = await allocate(stub, dept, 2052, category="Operating")
    await stub.CloseBudget(api.CloseBudgetRequest(id=closed.id))
    when = day(2052, 2, 2)
    no_dept = journal_entry_posted(when, [("5200", "70.00", "0"), ("2100", "0", "70.00")], source_service="billing")
    no_budget = journal_entry_posted(when, [("5200", "40.00", "0"), ("2100", "0", "40.00")], department=dept)
    to_closed = journal_entry_posted(when, [("5400", "15.00", "0"), ("1010", "0", "15.00")], department=dept)
    for message in (no_dept, no_budget, to_closed):
        await send(message)
    assert await spent(stub, closed.id) == 0
    mine = await stub.ListUnattributedSpend(api.ListUnattributedSpendRequest(department=dept))
    assert sorted((u.journal_entry_id, u.reason, u.category, D(u.amount)) for u in mine.unattributed_spend) == sorted(
        [
            (no_budget.journal_entry_id, pb.UNATTRIBUTED_SPEND_REASON_NO_MATCHING_BUDGET, "Salaries", D("40")),
            (to_closed.journal_entry_id, pb.UNATTRIBUTED_SPEND_REASON_NO_MATCHING_BUDGET, "Operating", D("15")),
        ]
    )
    assert (mine.total_size, D(mine.total_amount)) == (2, D("55"))
    billing = await stub.ListUnattributedSpend(
        api.ListUnattributedSpendRequest(source_service="billing", start_date=when, end_date=when, page_size=1000)
    )
    [row] = [u for u in billing.unattributed_spend if u.journal_entry_id == no_dept.journal_entry_id]
    assert (row.reason, row.department, row.account_code, row.journal_number) == (
        pb.UNATTRIBUTED_SPEND_REASON_NO_DEPARTMENT,
        "",
        "5200",
        no_dept.journal_number,
    )


async def test_budget_exceeded_exactly_once_per_crossing(
    stub: Stub, employees: Employees, send: Callable[..., Awaitable[Any]], db: asyncpg.Connection
) -> None:
    dept = await new_department(employees)
    budget = await allocate(stub, dept, 2053, allocated_amount=dec("1000.00"))

    async def state() -> tuple[int, Decimal, int]:
        b = await get_budget(stub, budget.id)
        return b.status, D(b.spent_amount), len(await finance_events(db, "BudgetExceeded", budget.id))

    await send(salary(dept, "600.00", day(2053, 1, 31)))
    await send(salary(dept, "300.00", day(2053, 2, 28)))
    assert await state() == (pb.BUDGET_STATUS_ACTIVE, D("900"), 0)
    crossing = salary(dept, "500.00", day(2053, 3, 31))
    await send(crossing)
    assert await state() == (pb.BUDGET_STATUS_EXCEEDED, D("1400"), 1)
    [event] = await finance_events(db, "BudgetExceeded", budget.id)
    assert (event.overrun_amount.value, event.spent_amount.value, event.department) == ("400.00", "1400.00", dept)
    await send(salary(dept, "100.00", day(2053, 4, 30)))
    assert await state() == (pb.BUDGET_STATUS_EXCEEDED, D("1500"), 1)  # still above: no second event
    b = await get_budget(stub, budget.id)
    assert D(b.remaining_amount) == D("-500") and D(b.utilization_percentage) == D("150.00")

    # Accounting reverses the crossing entry: both of its events arrive, the spend goes back once.
    posted, reversed_ = reversal_of(crossing, day(2053, 5, 2))
    await send(reversed_)
    await send(posted)
    assert await state() == (pb.BUDGET_STATUS_ACTIVE, D("1000"), 1)  # at the allocation: not above
    txns = await db.fetch(
        "SELECT amount FROM budget_transactions WHERE journal_entry_id = $1", uuid.UUID(posted.journal_entry_id)
    )
    assert [r["amount"] for r in txns] == [D("-500.00")]

    await send(salary(dept, "200.00", day(2053, 6, 30)))  # crossing again publishes again
    assert await state() == (pb.BUDGET_STATUS_EXCEEDED, D("1200"), 2)
    # Lowering the allocation below the spending is a crossing too; raising it ends the overrun.
    b = await get_budget(stub, budget.id)
    raised = await stub.UpdateBudget(
        api.UpdateBudgetRequest(
            budget=pb.Budget(id=b.id, allocated_amount=dec("2000.00")),
            update_mask={"paths": ["allocated_amount"]},
            version=b.version,
        )
    )
    assert raised.budget.status == pb.BUDGET_STATUS_ACTIVE
    lowered = await stub.UpdateBudget(
        api.UpdateBudgetRequest(
            budget=pb.Budget(id=b.id, allocated_amount=dec("1100.00")),
            update_mask={"paths": ["allocated_amount"]},
            version=raised.budget.version,
        )
    )
    assert lowered.budget.status == pb.BUDGET_STATUS_EXCEEDED
    assert len(await finance_events(db, "BudgetExceeded", budget.id)) == 3


async def test_the_same_entry_twice_changes_nothing(
    stub: Stub,
    employees: Employees,
    send: Callable[..., Awaitable[Any]],
    db: asyncpg.Connection,
    nats_client: Client,
    finance_settings: Settings,
) -> None:
    dept = await new_department(employees)
    budget = await allocate(stub, dept, 2054)
    entry = salary(dept, "300.00", day(2054, 1, 15))
    event_id = uuid.uuid4()
    first = await send(entry, event_id)
    assert first["charged"] == {budget.id: "300.00"}
    # The same event again (JetStream drops it as a duplicate; the consumer would skip it too) ...
    await publish(nats_client, finance_settings, entry, event_id)
    # ... and the same entry under a new event id, as accounting re-announces a repeated posting.
    again = await send(entry)
    assert again == {"journal_entry_id": entry.journal_entry_id, "already_applied": True}
    b = await get_budget(stub, budget.id)
    assert (D(b.spent_amount), b.version) == (D("300"), 2)
    count = await db.fetchval("SELECT count(*) FROM budget_transactions WHERE budget_id = $1", uuid.UUID(budget.id))
    assert count == 1
    assert len(await finance_events(db, "BudgetUpdated", budget.id)) == 1


async def test_year_end_closing_entries_are_not_spending(
    stub: Stub, employees: Employees, send: Callable[..., Awaitable[Any]]
) -> None:
    dept = await new_department(employees)
    budget = await allocate(stub, dept, 2055)
    closing = journal_entry_posted(
        day(2055, 12, 31),
        [("3100", "500.00", "0"), ("5200", "0", "500.00")],
        department=dept,
        source_service="accounting",
    )
    result = await send(closing)
    assert result["spend_lines"] == 0
    assert await spent(stub, budget.id) == 0


async def test_malformed_entry_is_ignored_with_a_reason(send: Callable[..., Awaitable[Any]]) -> None:
    result = await send(
        journal_entry_posted(
            day(2056, 1, 1), [("5200", "1.00", "0"), ("2100", "0", "1.00")], journal_entry_id="not-a-uuid"
        )
    )
    assert "ignored" in result
    bad_amount = journal_entry_posted(day(2056, 1, 1), [("5200", "1.00", "0"), ("2100", "0", "1.00")])
    bad_amount.lines[0].debit_amount.value = "one"
    result = await send(bad_amount)
    assert "ignored" in result
