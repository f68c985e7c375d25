"""The gateway's federated schema (Apollo Federation v2; entities keyed by `id`).

`make codegen` exports it to `gateway/schema.graphql`, the SDL client teams generate code from.
"""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from gateway.errors import ErrorPolicy, log_errors
from gateway.mutations.department import DepartmentMutations
from gateway.mutations.employee import EmployeeMutations
from gateway.queries import Query
from gateway.scalars import SCALAR_OVERRIDES
from gateway.types.department import Department
from gateway.types.employee import Employee

Mutation: Any = merge_types("Mutation", (EmployeeMutations, DepartmentMutations))


class GatewaySchema(strawberry.federation.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        log_errors(errors)


schema = GatewaySchema(
    query=Query,
    mutation=Mutation,
    types=[Employee, Department],
    extensions=[ErrorPolicy],
    scalar_overrides=SCALAR_OVERRIDES,
)
