"""The HTTP surface: /healthz, GraphiQL, pagination, and the metadata each RPC carries."""

from __future__ import annotations

import uuid

import httpx
from erp.employee.v1 import employee_service_pb2_grpc as api_grpc
from sqlalchemy import select

from services.runtime.events import H_CORRELATION, H_TRACEPARENT
from services.runtime.service import RunningService
from services.runtime.tables import OUTBOX
from services.runtime.tracing import trace_id_of
from tests.gateway.support import Gql, build_org, tag


async def test_healthz(gateway_client: httpx.AsyncClient) -> None:
    response = await gateway_client.get("/healthz")

    assert response.status_code == 200


async def test_graphiql_is_served(gateway_client: httpx.AsyncClient) -> None:
    response = await gateway_client.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_rpcs_carry_the_correlation_id_and_traceparent(
    gateway_client: httpx.AsyncClient, employee_service: RunningService
) -> None:
    correlation = str(uuid.uuid4())
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = await gateway_client.post(
        "/graphql",
        json={
            "query": "mutation($i: CreateEmployeeInput!) { createEmployee(input: $i) { id } }",
            "variables": {
                "i": {
                    "firstName": "Ada",
                    "lastName": "Byron",
                    "email": f"ada-{tag()}@example.com",
                    "jobTitle": "Analyst",
                    "salary": "1.00",
                    "hireDate": "2020-01-01",
                }
            },
        },
        headers={"x-erp-correlation-id": correlation, "traceparent": traceparent},
    )
    employee_id = response.json()["data"]["createEmployee"]["id"]

    assert response.headers["x-erp-correlation-id"] == correlation
    async with employee_service.deps.db.read() as session:
        headers = (
            await session.execute(select(OUTBOX.c.headers).where(OUTBOX.c.aggregate_id == employee_id))
        ).scalar_one()
    assert headers[H_CORRELATION] == correlation
    # The same trace, continued by the gateway's and the service's spans.
    assert trace_id_of(headers[H_TRACEPARENT]) == trace_id_of(traceparent)
    assert headers[H_TRACEPARENT] != traceparent


async def test_each_request_gets_its_own_correlation_id(gateway_client: httpx.AsyncClient) -> None:
    ids = set()
    for _ in range(2):
        response = await gateway_client.post("/graphql", json={"query": "{ _service { sdl } }"})
        ids.add(uuid.UUID(response.headers["x-erp-correlation-id"]))

    assert len(ids) == 2


async def test_paging_through_employees_with_cursors(gql: Gql, stub: api_grpc.EmployeeServiceStub) -> None:
    org = await build_org(stub, 7, departments=1)
    query = """query($t: String!, $after: String) {
      employees(filter: {query: $t}, first: 3, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { lastName } } } }"""
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = (await gql.data(query, {"t": org.tag, "after": after}))["employees"]
        assert page["totalCount"] == 7
        seen += [e["node"]["lastName"] for e in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert pages == 3
    assert seen == [f"Member{i:04d}" for i in range(7)]
    first_page = (await gql.data(query, {"t": org.tag, "after": None}))["employees"]
    resumed = (await gql.data(query, {"t": org.tag, "after": first_page["edges"][0]["cursor"]}))["employees"]
    assert [e["node"]["lastName"] for e in resumed["edges"]] == seen[1:4]


async def test_department_employees_and_departments_pages(gql: Gql, stub: api_grpc.EmployeeServiceStub) -> None:
    org = await build_org(stub, 5, departments=1)
    department = org.departments[0]
    query = """query($id: ID!, $after: String) { department(id: $id) { employees(first: 4, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { lastName } } } } }"""

    first = (await gql.data(query, {"id": department.id}))["department"]["employees"]
    rest = (await gql.data(query, {"id": department.id, "after": first["pageInfo"]["endCursor"]}))["department"][
        "employees"
    ]

    assert first["totalCount"] == 6
    assert first["pageInfo"]["hasNextPage"] is True
    names = [e["node"]["lastName"] for e in first["edges"] + rest["edges"]]
    assert names == ["Boss"] + [f"Member{i:04d}" for i in range(5)]
    assert rest["pageInfo"]["hasNextPage"] is False
    listed = (await gql.data("{ departments(first: 1000) { totalCount edges { node { id } } } }"))["departments"]
    assert department.id in {e["node"]["id"] for e in listed["edges"]}
