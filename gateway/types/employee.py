"""The Employee entity (erp.employee.v1.Employee)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import strawberry
from erp.employee.v1 import employee_pb2 as pb
from erp.payroll.v1 import payroll_pb2 as payroll_pb
from graphql import GraphQLError

from gateway.context import GatewayInfo
from gateway.loaded import Args, Loaded, loaded_by
from gateway.pagination import DEFAULT_FIRST, Connection, Cursor, local_connection, page_size
from gateway.refs import with_references
from gateway.sensitive import with_sensitive_fields
from gateway.types.payroll_record import PayrollRecord
from gateway.wire import date_of, datetime_of, decimal_of

if TYPE_CHECKING:
    from gateway.loaders import Loaders
    from gateway.loaders.payroll import RecentRecords


@strawberry.enum(description="Employment lifecycle: ACTIVE <-> ON_LEAVE, either -> TERMINATED (rehire to return).")
class EmployeeStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    ON_LEAVE = "ON_LEAVE"
    TERMINATED = "TERMINATED"


STATUS_FROM_PB: dict[int, EmployeeStatus] = {
    pb.EMPLOYEE_STATUS_ACTIVE: EmployeeStatus.ACTIVE,
    pb.EMPLOYEE_STATUS_ON_LEAVE: EmployeeStatus.ON_LEAVE,
    pb.EMPLOYEE_STATUS_TERMINATED: EmployeeStatus.TERMINATED,
}
STATUS_TO_PB: dict[EmployeeStatus, pb.EmployeeStatus.ValueType] = {v: k for k, v in STATUS_FROM_PB.items()}  # type: ignore[misc]


# An employee's payroll records are offset-paged over the employee's latest records: the first
# `after` offset + `first` of them (at most MAX_RECENT) and the employee's total, for all the
# employees of a level in one listing.
MAX_RECENT = 1000


def _records_key(employee: Any, args: Args) -> tuple[str, int] | None:
    try:
        wanted = Cursor.decode(args["after"]).offset + page_size(args["first"])
    except GraphQLError:  # the connection reports it
        wanted = DEFAULT_FIRST
    return (employee.id, min(wanted, MAX_RECENT)) if employee.id else None


def _records_connection(
    loaders: Loaders, employee: Any, recent: RecentRecords, args: Args
) -> Connection[PayrollRecord]:
    def convert(message: payroll_pb.PayrollRecord) -> PayrollRecord:
        return loaders.view(message, PayrollRecord.from_proto)

    return local_connection(recent.records, convert, args["first"], args["after"], total=recent.total)


RECORDS: Loaded[Any, tuple[str, int], RecentRecords] = Loaded(
    lambda loaders: loaders.payroll.recent_records, _records_key, _records_connection
)


@strawberry.federation.type(keys=["id"], description="A person employed by the company.")
@with_sensitive_fields(pb.Employee.DESCRIPTOR)
@with_references(pb.Employee.DESCRIPTOR)
class Employee:
    id: strawberry.ID
    first_name: str
    last_name: str
    email: str
    phone_number: str | None
    job_title: str
    salary: Decimal = strawberry.field(description="Annual salary.")
    hire_date: date
    termination_date: date | None
    status: EmployeeStatus
    department_id: strawberry.ID | None
    create_time: datetime | None
    update_time: datetime | None
    version: int = strawberry.field(description="Optimistic-locking version: send it back with every change.")

    @classmethod
    def from_proto(cls, m: pb.Employee) -> Employee:
        """Basic view only: sensitive fields are resolved separately, when selected."""
        return cls(
            id=strawberry.ID(m.id),
            first_name=m.first_name,
            last_name=m.last_name,
            email=m.email,
            phone_number=m.phone_number or None,
            job_title=m.job_title,
            salary=decimal_of(m.salary) or Decimal(0),
            hire_date=date_of(m.hire_date) or date.min,
            termination_date=date_of(m.termination_date),
            status=STATUS_FROM_PB[m.status],
            department_id=strawberry.ID(m.department_id) if m.department_id else None,
            create_time=datetime_of(m, "create_time"),
            update_time=datetime_of(m, "update_time"),
            version=m.version,
        )

    @classmethod
    async def resolve_reference(cls, info: GatewayInfo, id: strawberry.ID) -> Employee | None:
        message = await info.context.loaders.employee.employees.load(id)
        return None if message is None else cls.from_proto(message)

    @strawberry.field(
        description="The employee's payroll records, newest pay period first (the payroll service's; "
        "null with an error when that service is unavailable).",
        graphql_type=Connection[PayrollRecord] | None,
    )
    @loaded_by(RECORDS)
    def payroll_records(self, info: GatewayInfo, first: int | None = None, after: str | None = None) -> Any:
        return RECORDS.resolve(info.context.loaders, self, {"first": first, "after": after})
