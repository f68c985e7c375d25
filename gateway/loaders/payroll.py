"""Loaders over the payroll service: records and runs by id, and employees' latest records."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from erp.payroll.v1 import payroll_pb2 as pb
from erp.payroll.v1 import payroll_service_pb2 as api
from strawberry.dataloader import DataLoader

from gateway.clients import Clients
from gateway.loaders.batch import MAX_BATCH, by_key, valid_ids


class RecentRecords(NamedTuple):
    records: list[pb.PayrollRecord]
    total: int


@dataclass
class PayrollLoaders:
    clients: Clients
    records: DataLoader[str, pb.PayrollRecord | None] = field(init=False)
    runs: DataLoader[str, pb.PayrollRun | None] = field(init=False)
    # (employee id, how many) -> the employee's latest records and how many there are in all
    recent_records: DataLoader[tuple[str, int], RecentRecords] = field(init=False)

    def __post_init__(self) -> None:
        self.records = by_key(self._records, lambda r: r.id)
        self.runs = by_key(self._runs, lambda r: r.id)
        self.recent_records = DataLoader(self._recent_records, max_batch_size=MAX_BATCH)

    async def _records(self, ids: list[str]) -> Sequence[pb.PayrollRecord]:
        request = api.BatchGetPayrollRecordsRequest(ids=ids)
        return (await self.clients.payroll.call(lambda s: s.BatchGetPayrollRecords(request))).payroll_records

    async def _runs(self, ids: list[str]) -> Sequence[pb.PayrollRun]:
        request = api.BatchGetPayrollRunsRequest(ids=ids)
        return (await self.clients.payroll.call(lambda s: s.BatchGetPayrollRuns(request))).payroll_runs

    async def _recent_records(self, keys: list[tuple[str, int]]) -> list[RecentRecords]:
        """One listing per distinct count asked (usually one): the employees' latest records
        (`per_employee_limit`) with every employee's total."""
        wanted: dict[int, list[str]] = {}
        for employee_id, limit in dict.fromkeys(keys):
            wanted.setdefault(limit, []).append(employee_id)
        found: dict[tuple[str, int], RecentRecords] = {}
        await asyncio.gather(*(self._latest(valid_ids(ids), limit, found) for limit, ids in wanted.items()))
        return [found.get(key, RecentRecords([], 0)) for key in keys]

    async def _latest(self, employee_ids: list[str], limit: int, found: dict[tuple[str, int], RecentRecords]) -> None:
        """Newest pay period first (the service's order)."""
        records: dict[str, list[pb.PayrollRecord]] = {e: [] for e in employee_ids}
        totals: dict[str, int] = {}
        token = ""
        while employee_ids and limit > 0:
            response = await self._page_of_latest(employee_ids, limit, token)
            for record in response.payroll_records:
                records.setdefault(record.employee_id, []).append(record)
            totals.update((c.employee_id, c.total_size) for c in response.employee_counts)
            token = response.next_page_token
            if not token:
                break
        for employee_id in employee_ids:
            found[(employee_id, limit)] = RecentRecords(records[employee_id], totals.get(employee_id, 0))

    async def _page_of_latest(self, employee_ids: list[str], limit: int, token: str) -> api.ListPayrollRecordsResponse:
        request = api.ListPayrollRecordsRequest(
            employee_ids=employee_ids, per_employee_limit=limit, page_size=MAX_BATCH, page_token=token
        )
        response = await self.clients.payroll.call(lambda s: s.ListPayrollRecords(request))
        self.records.prime_many({r.id: r for r in response.payroll_records})
        return response
