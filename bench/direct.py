"""The hand-written client: the read of scenario 1 with the minimal RPCs, straight to the
services (no gateway): one call per (service, level), levels that do not depend on each other
in parallel, nothing fetched twice."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date

import grpc
from erp.accounting.v1 import accounting_service_pb2 as acc
from erp.employee.v1 import employee_pb2 as emp_pb
from erp.employee.v1 import employee_service_pb2 as emp
from erp.payroll.v1 import payroll_pb2 as pay_pb
from erp.payroll.v1 import payroll_service_pb2 as pay

from bench import stubs
from services.runtime.convert import date_to_pb
from services.runtime.settings import Settings

DEADLINE_S = 10.0
BATCH = 1000


class Direct:
    def __init__(self, settings: Settings) -> None:
        self.channels = {
            s: grpc.aio.insecure_channel(settings.grpc_address(s)) for s in ("employee", "payroll", "accounting")
        }
        self.employee = stubs.employee(self.channels["employee"])
        self.payroll = stubs.payroll(self.channels["payroll"])
        self.accounting = stubs.accounting(self.channels["accounting"])

    async def close(self) -> None:
        for channel in self.channels.values():
            await channel.close()

    async def read(self, n: int, records_since: date | None) -> int:
        """Employees, department, manager (and, with `records_since`, the last 3 payroll records,
        their journal entries with lines, and the lines' accounts); returns the RPCs made."""
        page = await self.employee.ListEmployees(emp.ListEmployeesRequest(page_size=n), timeout=DEADLINE_S)
        employees = list(page.employees)
        branches = [self._departments(employees)]
        if records_since is not None:
            branches.append(self._payroll(employees, records_since))
        return 1 + sum(await asyncio.gather(*branches))

    async def _departments(self, employees: list[emp_pb.Employee]) -> int:
        ids = sorted({e.department_id for e in employees if e.department_id})
        if not ids:
            return 0
        reply = await self.employee.BatchGetDepartments(emp.BatchGetDepartmentsRequest(ids=ids), timeout=DEADLINE_S)
        known = {e.id for e in employees}
        managers = sorted({d.manager_id for d in reply.departments if d.manager_id and d.manager_id not in known})
        if not managers:
            return 1
        await self.employee.BatchGetEmployees(emp.BatchGetEmployeesRequest(ids=managers), timeout=DEADLINE_S)
        return 2

    async def _payroll(self, employees: list[emp_pb.Employee], since: date) -> int:
        calls, token = 0, ""
        latest: dict[str, list[pay_pb.PayrollRecord]] = defaultdict(list)
        ids = [e.id for e in employees]
        while True:
            request = pay.ListPayrollRecordsRequest(
                employee_ids=ids, period_start_from=date_to_pb(since), page_size=BATCH, page_token=token
            )
            reply = await self.payroll.ListPayrollRecords(request, timeout=DEADLINE_S)
            calls += 1
            for r in reply.payroll_records:  # newest period first
                if len(latest[r.employee_id]) < 3:
                    latest[r.employee_id].append(r)
            token = reply.next_page_token
            if not token:
                break
        entry_ids = sorted(
            {r.accounting_transaction_id for rs in latest.values() for r in rs if r.accounting_transaction_id}
        )
        codes: set[str] = set()
        for i in range(0, len(entry_ids), BATCH):
            batch = acc.BatchGetJournalEntriesRequest(ids=entry_ids[i : i + BATCH])
            entries = await self.accounting.BatchGetJournalEntries(batch, timeout=DEADLINE_S)
            calls += 1
            codes.update(line.account_code for e in entries.journal_entries for line in e.lines)
        if codes:
            by_code = acc.BatchGetAccountsByCodeRequest(account_codes=sorted(codes))
            await self.accounting.BatchGetAccountsByCode(by_code, timeout=DEADLINE_S)
            calls += 1
        return calls
