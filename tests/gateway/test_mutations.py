"""Every mutation's success path, through the gateway to the employee service and back."""

from __future__ import annotations

from typing import Any

from erp.employee.v1 import employee_service_pb2_grpc as api_grpc

from tests.gateway.support import Gql, new_department, new_employee, tag

FIELDS = """id firstName lastName email phoneNumber jobTitle salary hireDate terminationDate status
  departmentId version department { id name }"""


async def create(gql: Gql, department_id: str | None = None, **extra: Any) -> dict[str, Any]:
    values = {
        "firstName": "Grace",
        "lastName": "Hopper",
        "email": f"grace-{tag()}@example.com",
        "jobTitle": "Rear Admiral",
        "salary": "98765.40",
        "hireDate": "2021-03-01",
        "departmentId": department_id,
        **extra,
    }
    data = await gql.data(
        f"mutation($i: CreateEmployeeInput!) {{ createEmployee(input: $i) {{ {FIELDS} }} }}", {"i": values}
    )
    employee: dict[str, Any] = data["createEmployee"]
    return employee


async def test_create_employee_with_sensitive_numbers(gql: Gql, stub: api_grpc.EmployeeServiceStub) -> None:
    department = await new_department(stub, f"Navy {tag()}")
    employee = await create(
        gql, department.id, phoneNumber="+1 555 0100", socialSecurityNumber="123-45-6789", bankAccountNumber="DE89 3704"
    )

    assert employee["salary"] == "98765.40"
    assert employee["hireDate"] == "2021-03-01"
    assert employee["status"] == "ACTIVE"
    assert employee["version"] == 1
    assert employee["phoneNumber"] == "+1 555 0100"
    assert employee["department"] == {"id": department.id, "name": department.name}
    data = await gql.data(
        "query($id: ID!) { employee(id: $id) { socialSecurityNumber bankAccountNumber } }", {"id": employee["id"]}
    )
    assert data["employee"] == {"socialSecurityNumber": "123-45-6789", "bankAccountNumber": "DE89 3704"}


async def test_update_employee_changes_only_the_given_fields(gql: Gql, stub: api_grpc.EmployeeServiceStub) -> None:
    employee = await create(gql, phoneNumber="555")
    department = await new_department(stub, f"Ops {tag()}")
    changes = {
        "id": employee["id"],
        "version": employee["version"],
        "jobTitle": "Commodore",
        "salary": "100000.00",
        "departmentId": department.id,
        "phoneNumber": None,
        "socialSecurityNumber": "987-65-4321",
    }
    data = await gql.data(
        f"""mutation($i: UpdateEmployeeInput!) {{ updateEmployee(input: $i) {{ {FIELDS} socialSecurityNumber }} }}""",
        {"i": changes},
    )

    updated = data["updateEmployee"]
    assert updated["jobTitle"] == "Commodore"
    assert updated["salary"] == "100000.00"
    assert updated["department"]["name"] == department.name
    assert updated["phoneNumber"] is None
    assert updated["socialSecurityNumber"] == "987-65-4321"
    assert updated["version"] == employee["version"] + 1
    assert {k: updated[k] for k in ("firstName", "lastName", "email", "hireDate")} == {
        k: employee[k] for k in ("firstName", "lastName", "email", "hireDate")
    }


async def test_leave_terminate_and_rehire(gql: Gql, stub: api_grpc.EmployeeServiceStub) -> None:
    employee = await create(gql)
    leave = "mutation($i: LeaveInput!) { %s(input: $i) { status version } }"

    started = (await gql.data(leave % "startLeave", {"i": {"id": employee["id"], "version": 1}}))["startLeave"]
    assert started == {"status": "ON_LEAVE", "version": 2}
    ended = (await gql.data(leave % "endLeave", {"i": {"id": employee["id"], "version": 2}}))["endLeave"]
    assert ended == {"status": "ACTIVE", "version": 3}

    terminated = await gql.data(
        "mutation($i: TerminateEmployeeInput!) { terminateEmployee(input: $i) { status terminationDate version } }",
        {"i": {"id": employee["id"], "version": 3, "terminationDate": "2023-06-30", "reason": "retired"}},
    )
    assert terminated["terminateEmployee"] == {"status": "TERMINATED", "terminationDate": "2023-06-30", "version": 4}

    department = await new_department(stub, f"Reserve {tag()}")
    rehired = await gql.data(
        """mutation($i: RehireEmployeeInput!) {
          rehireEmployee(input: $i) { status hireDate terminationDate salary department { name } version } }""",
        {
            "i": {
                "id": employee["id"],
                "version": 4,
                "hireDate": "2024-01-02",
                "salary": "120000.50",
                "departmentId": department.id,
            }
        },
    )
    assert rehired["rehireEmployee"] == {
        "status": "ACTIVE",
        "hireDate": "2024-01-02",
        "terminationDate": None,
        "salary": "120000.50",
        "department": {"name": department.name},
        "version": 5,
    }


async def test_create_and_update_department(gql: Gql, stub: api_grpc.EmployeeServiceStub) -> None:
    manager = await new_employee(stub, f"mgr-{tag()}@example.com")
    code = f"C{tag()}"
    created = await gql.data(
        """mutation($i: CreateDepartmentInput!) {
          createDepartment(input: $i) { id name code budgetCode manager { id } employees { totalCount } } }""",
        {"i": {"name": "Compilers", "code": code, "budgetCode": "BC-1"}},
    )
    department = created["createDepartment"]
    assert department == {
        "id": department["id"],
        "name": "Compilers",
        "code": code,
        "budgetCode": "BC-1",
        "manager": None,
        "employees": {"totalCount": 0},
    }

    updated = await gql.data(
        """mutation($i: UpdateDepartmentInput!) {
          updateDepartment(input: $i) { name code budgetCode manager { id email } } }""",
        {"i": {"id": department["id"], "name": "Languages", "managerId": manager.id, "budgetCode": None}},
    )
    assert updated["updateDepartment"] == {
        "name": "Languages",
        "code": code,
        "budgetCode": None,
        "manager": {"id": manager.id, "email": manager.email},
    }
