"""Stubs over grpc.aio channels, typed as the generated *AsyncStub classes (awaitable calls)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from erp.accounting.v1 import accounting_service_pb2_grpc as acc_grpc
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc
from erp.payroll.v1 import payroll_service_pb2_grpc as pay_grpc

if TYPE_CHECKING:
    from erp.accounting.v1.accounting_service_pb2_grpc import AccountingServiceAsyncStub
    from erp.employee.v1.employee_service_pb2_grpc import EmployeeServiceAsyncStub
    from erp.payroll.v1.payroll_service_pb2_grpc import PayrollServiceAsyncStub


def employee(channel: grpc.aio.Channel) -> EmployeeServiceAsyncStub:
    return emp_grpc.EmployeeServiceStub(channel)


def payroll(channel: grpc.aio.Channel) -> PayrollServiceAsyncStub:
    return pay_grpc.PayrollServiceStub(channel)


def accounting(channel: grpc.aio.Channel) -> AccountingServiceAsyncStub:
    return acc_grpc.AccountingServiceStub(channel)
