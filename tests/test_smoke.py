from __future__ import annotations

import uuid

import grpc
from erp.employee.v1 import employee_service_pb2 as api
from erp.employee.v1 import employee_service_pb2_grpc as api_grpc
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal


async def test_create_and_get(employee_channel: grpc.aio.Channel) -> None:
    stub = api_grpc.EmployeeServiceStub(employee_channel)
    created = await stub.CreateEmployee(
        api.CreateEmployeeRequest(
            first_name="Ada",
            last_name="Lovelace",
            email=f"ada-{uuid.uuid4().hex[:6]}@example.com",
            job_title="Engineer",
            salary=PbDecimal(value="120000.00"),
            hire_date=Date(year=2024, month=1, day=15),
            social_security_number="123-45-6789",
        )
    )
    got = await stub.GetEmployee(api.GetEmployeeRequest(id=created.employee.id))
    assert got.employee.salary.value == "120000.00"
    assert got.employee.social_security_number == "****6789"  # masked in the basic view
