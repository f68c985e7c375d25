"""A query costs a constant number of RPCs per level of nesting, whatever the list sizes."""

from __future__ import annotations

import pytest
from erp.employee.v1 import employee_service_pb2_grpc as api_grpc

from tests.gateway.support import Gql, build_org

NESTED = """
query Nested($tag: String!, $first: Int!) {
  employees(filter: {query: $tag}, first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id
        lastName
        department {
          name
          manager { lastName department { name } }
          employees(first: 3) { totalCount edges { node { id } } }
        }
      }
    }
  }
}
"""

# One page of employees, one BatchGetDepartments for their departments, one BatchGetEmployees for
# the managers (none of whom is in the page), one paged ListEmployees for the departments' members;
# the managers' own departments are already in the request's cache.
EXPECTED_RPCS = {"ListEmployees": 2, "BatchGetDepartments": 1, "BatchGetEmployees": 1}


@pytest.mark.parametrize("size", [20, 200])
async def test_nested_query_costs_the_same_rpcs_for_20_or_200_employees(
    gql: Gql, stub: api_grpc.EmployeeServiceStub, size: int
) -> None:
    org = await build_org(stub, size)
    data, rpcs = await gql.counted(NESTED, {"tag": org.tag, "first": 250})

    assert rpcs == EXPECTED_RPCS
    page = data["employees"]
    assert page["totalCount"] == size
    assert page["pageInfo"]["hasNextPage"] is False
    assert len(page["edges"]) == size
    names = {d.id: d.name for d in org.departments}
    by_employee = {e.id: names[e.department_id] for e in org.employees}
    per_department = size // len(org.departments) + 1  # the members plus the manager
    for edge in page["edges"]:
        department = edge["node"]["department"]
        assert department["name"] == by_employee[edge["node"]["id"]]
        assert department["manager"] == {"lastName": "Boss", "department": {"name": department["name"]}}
        assert department["employees"]["totalCount"] == per_department
        assert len(department["employees"]["edges"]) == 3


async def test_entities_of_50_employees_cost_one_batch_get(gql: Gql, stub: api_grpc.EmployeeServiceStub) -> None:
    org = await build_org(stub, 50, departments=2)
    representations = [{"__typename": "Employee", "id": e.id} for e in org.employees]
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Employee { id email } } }"

    data, rpcs = await gql.counted(query, {"r": representations})

    assert rpcs == {"BatchGetEmployees": 1}
    assert [e["id"] for e in data["_entities"]] == [e.id for e in org.employees]
    assert data["_entities"][7]["email"] == org.employees[7].email


async def test_entities_resolve_departments_and_unknown_ids_to_null(
    gql: Gql, stub: api_grpc.EmployeeServiceStub
) -> None:
    org = await build_org(stub, 2, departments=2)
    representations = [
        {"__typename": "Department", "id": org.departments[0].id},
        {"__typename": "Department", "id": org.departments[1].id},
        {"__typename": "Employee", "id": "00000000-0000-4000-8000-000000000000"},
        {"__typename": "Employee", "id": "not-a-uuid"},
    ]
    query = """query($r: [_Any!]!) { _entities(representations: $r) {
      ... on Department { name manager { lastName } } ... on Employee { id } } }"""

    data, rpcs = await gql.counted(query, {"r": representations})

    assert data["_entities"][0] == {"name": org.departments[0].name, "manager": {"lastName": "Boss"}}
    assert data["_entities"][2:] == [None, None]
    # Level 1: the departments and the (unknown) employee; level 2: the managers.
    assert rpcs == {"BatchGetDepartments": 1, "BatchGetEmployees": 2}


async def test_sensitive_fields_cost_one_more_batch_only_when_selected(
    gql: Gql, stub: api_grpc.EmployeeServiceStub
) -> None:
    org = await build_org(stub, 30, departments=2)
    basic = "query($t: String!) { employees(filter: {query: $t}) { edges { node { id email } } } }"
    sensitive = """query($t: String!) { employees(filter: {query: $t}) {
      edges { node { id socialSecurityNumber bankAccountNumber } } } }"""

    _, rpcs = await gql.counted(basic, {"t": org.tag})
    assert rpcs == {"ListEmployees": 1}

    data, rpcs = await gql.counted(sensitive, {"t": org.tag})
    assert rpcs == {"ListEmployees": 1, "BatchGetEmployees": 1}
    assert {e["node"]["socialSecurityNumber"] for e in data["employees"]["edges"]} == {None}
