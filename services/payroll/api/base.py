"""What every part of the PayrollService servicer shares: dependencies, parsing helpers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from services.payroll.config import PayrollConfig
from services.payroll.directory import EmployeeDirectory
from services.runtime.errors import Validator
from services.runtime.service import ServiceDeps

E = TypeVar("E")


class ApiBase:
    def __init__(self, deps: ServiceDeps, config: PayrollConfig) -> None:
        self.deps = deps
        self.db = deps.db
        self.clock = deps.clock
        self.config = config

    def directory(self) -> EmployeeDirectory:
        """The employee service, reached over the process's shared channel."""
        return EmployeeDirectory(self.deps.channel("employee"), self.deps.settings.rpc_deadline_s)


def enum_values(v: Validator, values: Iterable[Any], known: Mapping[Any, E], field: str) -> list[E]:
    """Map wire enum values to domain values, reporting unknown ones (and UNSPECIFIED) as a violation."""
    return v.enum_values(values, known, field, "contains an unknown status ({value})")
