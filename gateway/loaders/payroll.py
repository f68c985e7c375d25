"""Loaders over the payroll service: records and runs by id, and the records of employees."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from erp.payroll.v1 import payroll_pb2 as pb
from erp.payroll.v1 import payroll_service_pb2 as api
from strawberry.dataloader import DataLoader

from gateway.clients import Clients
from gateway.loaders.batch import MAX_BATCH, Page, by_key, grouped


@dataclass
class PayrollLoaders:
    clients: Clients
    records: DataLoader[str, pb.PayrollRecord | None] = field(init=False)
    runs: DataLoader[str, pb.PayrollRun | None] = field(init=False)
    employee_records: DataLoader[str, list[pb.PayrollRecord]] = field(init=False)

    def __post_init__(self) -> None:
        self.records = by_key(self._records, lambda r: r.id)
        self.runs = by_key(self._runs, lambda r: r.id)
        self.employee_records = grouped(self._records_of_employees, lambda r: r.employee_id)

    async def _records(self, ids: list[str]) -> Sequence[pb.PayrollRecord]:
        request = api.BatchGetPayrollRecordsRequest(ids=ids)
        return (await self.clients.payroll.call(lambda s: s.BatchGetPayrollRecords(request))).payroll_records

    async def _runs(self, ids: list[str]) -> Sequence[pb.PayrollRun]:
        request = api.BatchGetPayrollRunsRequest(ids=ids)
        return (await self.clients.payroll.call(lambda s: s.BatchGetPayrollRuns(request))).payroll_runs

    async def _records_of_employees(self, employee_ids: list[str], token: str) -> Page[pb.PayrollRecord]:
        """Newest pay period first (the service's order), one listing for every employee asked."""
        request = api.ListPayrollRecordsRequest(employee_ids=employee_ids, page_size=MAX_BATCH, page_token=token)
        response = await self.clients.payroll.call(lambda s: s.ListPayrollRecords(request))
        self.records.prime_many({r.id: r for r in response.payroll_records})
        return response.payroll_records, response.next_page_token
