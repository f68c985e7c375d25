"""RebuildEmployeeCache: reload payroll's employee cache from the employee service (admin)."""

from __future__ import annotations

from typing import Any

from erp.payroll.v1 import payroll_service_pb2 as api

from services.payroll import cache
from services.payroll.api.base import ApiBase
from services.runtime.convert import timestamp_to_pb, uuids_from_strs


class CacheApi(ApiBase):
    async def RebuildEmployeeCache(
        self, request: api.RebuildEmployeeCacheRequest, context_: Any
    ) -> api.RebuildEmployeeCacheResponse:
        """Every employee (ListEmployees pages of 1000) or the named ones (one BatchGetEmployees);
        rows the cache already holds at a newer version (an event that won the race) are kept."""
        ids = uuids_from_strs(list(request.employee_ids), "employee_ids")
        now = self.clock.now()
        directory = self.directory()
        rows = await (directory.batch_get(ids, now) if ids else directory.list_all(now))
        async with self.db.unit_of_work() as uow:
            written = await cache.upsert(uow.session, rows, refresh_same_version=True)
        return api.RebuildEmployeeCacheResponse(entry_count=written, rebuilt_at=timestamp_to_pb(self.clock.now()))
