"""What every part of the PayrollService servicer shares: dependencies, parsing helpers."""

from __future__ import annotations

from services.payroll.config import PayrollConfig
from services.payroll.directory import EmployeeDirectory
from services.runtime.service import ServiceDeps


class ApiBase:
    def __init__(self, deps: ServiceDeps, config: PayrollConfig) -> None:
        self.deps = deps
        self.db = deps.db
        self.clock = deps.clock
        self.config = config

    def directory(self) -> EmployeeDirectory:
        """The employee service, reached over the process's shared channel."""
        return EmployeeDirectory(self.deps.channel("employee"), self.deps.settings.rpc_deadline_s)
