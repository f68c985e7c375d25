"""Budgets through the API: allocation, reads, paging, updates with optimistic locking, closing
(by hand and by the periodic job on a fixed clock); every bad input refused with nothing written."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc
from erp.finance.v1 import finance_pb2 as pb
from erp.finance.v1 import finance_service_pb2 as api
from google.protobuf.field_mask_pb2 import FieldMask

from services.finance.jobs import close_expired_budgets
from services.runtime.clock import FixedClock
from services.runtime.service import RunningService
from tests.finance.helpers import (
    Code,
    D,
    Stub,
    allocate,
    allocate_request,
    day,
    dec,
    finance_events,
    get_budget,
    new_department,
    rejected,
    rpc_error,
)

Employees = emp_grpc.EmployeeServiceStub


async def test_allocate_creates_an_active_budget_and_records_it(
    stub: Stub, employees: Employees, db: asyncpg.Connection
) -> None:
    dept = await new_department(employees)
    budget = await allocate(
        stub,
        dept,
        2040,
        quarter=2,
        category="Operating",
        allocated_amount=dec("2500.50"),
        start_date=day(2040, 4, 1),
        end_date=day(2040, 6, 30),
    )
    assert budget.status == pb.BUDGET_STATUS_ACTIVE
    assert (budget.quarter, budget.version, budget.department) == (2, 1, dept)
    assert (D(budget.allocated_amount), D(budget.spent_amount), D(budget.remaining_amount)) == (
        D("2500.50"),
        D("0"),
        D("2500.50"),
    )
    assert D(budget.utilization_percentage) == 0
    assert await get_budget(stub, budget.id) == budget
    [event] = await finance_events(db, "BudgetAllocated", budget.id)
    assert (event.department, event.quarter, event.allocated_amount.value) == (dept, 2, "2500.50")


async def test_allocate_refuses_bad_input_and_writes_nothing(
    stub: Stub, employees: Employees, db: asyncpg.Connection
) -> None:
    dept = await new_department(employees)
    bad = allocate_request(
        "", 0, quarter=5, category="", allocated_amount=dec("-1"), start_date=day(2040, 5, 1), end_date=day(2040, 4, 1)
    )
    await rejected(
        db,
        stub.AllocateBudget(bad),
        Code.INVALID_ARGUMENT,
        fields=("department", "fiscal_year", "quarter", "category", "allocated_amount", "end_date"),
    )
    await rejected(
        db,
        stub.AllocateBudget(allocate_request(dept, 2040, allocated_amount=dec("1.001"))),
        Code.INVALID_ARGUMENT,
        fields=("allocated_amount",),
    )
    await rejected(
        db,
        stub.AllocateBudget(allocate_request(dept, 2040, start_date=day(2040, 2, 30))),
        Code.INVALID_ARGUMENT,
        fields=("start_date",),
    )
    err = await rejected(
        db,
        stub.AllocateBudget(allocate_request("No such department", 2040)),
        Code.INVALID_ARGUMENT,
        fields=("department",),
    )
    assert "department" in (err.details() or "")


async def test_one_budget_per_department_year_quarter_and_category(
    stub: Stub, employees: Employees, db: asyncpg.Connection
) -> None:
    dept = await new_department(employees)
    await allocate(stub, dept, 2041)  # annual
    await rejected(db, stub.AllocateBudget(allocate_request(dept, 2041)), Code.ALREADY_EXISTS)
    q1 = await allocate(stub, dept, 2041, quarter=1, end_date=day(2041, 3, 31))
    await rejected(db, stub.AllocateBudget(allocate_request(dept, 2041, quarter=1)), Code.ALREADY_EXISTS)
    other = await allocate(stub, dept, 2041, category="Operating")
    assert q1.id != other.id


async def test_batch_get_and_list_with_filters_order_and_pages(stub: Stub, employees: Employees) -> None:
    a, b = sorted([await new_department(employees), await new_department(employees)])
    made = [
        await allocate(stub, b, 2042, category="Salaries"),
        await allocate(stub, a, 2042, category="Salaries"),
        await allocate(stub, a, 2042, category="Operating"),
        await allocate(stub, a, 2043, category="Salaries"),
        await allocate(
            stub, a, 2043, quarter=3, category="Salaries", start_date=day(2043, 7, 1), end_date=day(2043, 9, 30)
        ),
    ]
    got = await stub.BatchGetBudgets(api.BatchGetBudgetsRequest(ids=[m.id for m in made] + [made[0].id]))
    assert {x.id for x in got.budgets} == {m.id for m in made}

    seen: list[pb.Budget] = []
    token = ""
    while True:
        page = await stub.ListBudgets(api.ListBudgetsRequest(departments=[a, b], page_size=2, page_token=token))
        assert page.total_size == 5
        seen.extend(page.budgets)
        token = page.next_page_token
        if not token:
            break
    keys = [(x.fiscal_year, x.department, x.category) for x in seen]
    assert keys == sorted(keys, key=lambda k: (-k[0], k[1], k[2]))
    assert len({x.id for x in seen}) == 5

    q3 = await stub.ListBudgets(api.ListBudgetsRequest(departments=[a], fiscal_year=2043, quarter=3))
    assert [x.id for x in q3.budgets] == [made[4].id]
    ops = await stub.ListBudgets(api.ListBudgetsRequest(departments=[a, b], categories=["Operating"]))
    assert [x.id for x in ops.budgets] == [made[2].id]
    await rpc_error(
        stub.ListBudgets(api.ListBudgetsRequest(departments=[b], page_token=token or "bogus")), Code.INVALID_ARGUMENT
    )
    await rpc_error(stub.ListBudgets(api.ListBudgetsRequest(statuses=[42])), Code.INVALID_ARGUMENT)


async def test_update_allocation_recomputes_and_checks_the_version(
    stub: Stub, employees: Employees, db: asyncpg.Connection
) -> None:
    dept = await new_department(employees)
    budget = await allocate(stub, dept, 2044, allocated_amount=dec("400.00"))
    request = api.UpdateBudgetRequest(
        budget=pb.Budget(id=budget.id, allocated_amount=dec("800.00"), end_date=day(2044, 6, 30)),
        update_mask=FieldMask(paths=["allocated_amount", "end_date"]),
        version=budget.version,
    )
    updated = (await stub.UpdateBudget(request)).budget
    assert (D(updated.allocated_amount), D(updated.remaining_amount), updated.version) == (D("800"), D("800"), 2)
    assert updated.end_date == day(2044, 6, 30)
    [event] = await finance_events(db, "BudgetUpdated", budget.id)
    assert "allocated_amount" in event.changed_fields and event.allocated_amount.value == "800.00"
    await rejected(db, stub.UpdateBudget(request), Code.ABORTED)  # version 1 is stale now

    def update(**fields: object) -> api.UpdateBudgetRequest:
        paths = [name for name in fields if name != "id"]
        return api.UpdateBudgetRequest(
            budget=pb.Budget(id=budget.id, **fields), update_mask=FieldMask(paths=paths), version=2
        )

    await rejected(
        db,
        stub.UpdateBudget(update(allocated_amount=dec("0"))),
        Code.INVALID_ARGUMENT,
        fields=("budget.allocated_amount",),
    )
    await rejected(
        db, stub.UpdateBudget(update(start_date=day(2044, 7, 1))), Code.INVALID_ARGUMENT, fields=("budget.end_date",)
    )
    await rejected(db, stub.UpdateBudget(update(department="x")), Code.INVALID_ARGUMENT, fields=("update_mask",))
    await rejected(
        db,
        stub.UpdateBudget(api.UpdateBudgetRequest(budget=pb.Budget(id=budget.id))),
        Code.INVALID_ARGUMENT,
        fields=("update_mask",),
    )
    missing = api.UpdateBudgetRequest(
        budget=pb.Budget(id="00000000-0000-0000-0000-000000000000", allocated_amount=dec("1.00")),
        update_mask=FieldMask(paths=["allocated_amount"]),
    )
    await rejected(db, stub.UpdateBudget(missing), Code.NOT_FOUND)
    other = await allocate(stub, dept, 2044, category="Operating")
    await rejected(db, stub.UpdateBudget(update(category="Operating")), Code.ALREADY_EXISTS)
    assert (await get_budget(stub, other.id)).category == "Operating"


async def test_close_by_hand_then_no_more_changes(stub: Stub, employees: Employees, db: asyncpg.Connection) -> None:
    dept = await new_department(employees)
    budget = await allocate(stub, dept, 2045)
    await rejected(db, stub.CloseBudget(api.CloseBudgetRequest(id=budget.id, version=7)), Code.ABORTED)
    closed = (await stub.CloseBudget(api.CloseBudgetRequest(id=budget.id, version=1))).budget
    assert (closed.status, closed.version) == (pb.BUDGET_STATUS_CLOSED, 2)
    [event] = await finance_events(db, "BudgetClosed", budget.id)
    assert event.version == 2 and event.remaining_amount.value == "1000.00"
    await rejected(db, stub.CloseBudget(api.CloseBudgetRequest(id=budget.id)), Code.FAILED_PRECONDITION)
    change = api.UpdateBudgetRequest(
        budget=pb.Budget(id=budget.id, allocated_amount=dec("5.00")), update_mask=FieldMask(paths=["allocated_amount"])
    )
    await rejected(db, stub.UpdateBudget(change), Code.FAILED_PRECONDITION)
    await rejected(db, stub.GetBudget(api.GetBudgetRequest(id="nope")), Code.INVALID_ARGUMENT, fields=("id",))


async def test_periodic_job_closes_budgets_whose_period_has_ended(
    stub: Stub, employees: Employees, finance_service: RunningService, db: asyncpg.Connection
) -> None:
    dept = await new_department(employees)
    ended = await allocate(stub, dept, 1990, end_date=day(1990, 6, 30))
    running = await allocate(stub, dept, 1990, category="Operating")
    clock = FixedClock(datetime(1990, 7, 1, 8, 0, tzinfo=UTC))
    assert await close_expired_budgets(finance_service.deps.db, clock) >= 1
    assert (await get_budget(stub, ended.id)).status == pb.BUDGET_STATUS_CLOSED
    assert (await get_budget(stub, running.id)).status == pb.BUDGET_STATUS_ACTIVE
    assert len(await finance_events(db, "BudgetClosed", ended.id)) == 1
    assert await close_expired_budgets(finance_service.deps.db, clock) == 0  # nothing left to close
