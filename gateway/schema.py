"""The gateway's federated schema (Apollo Federation v2; entities keyed by `id`), with
subscriptions fed by NATS (`gateway.subscriptions`) and the operation limits (`gateway.limits`).

`make codegen` exports it to `gateway/schema.graphql`, the SDL client teams generate code from.
"""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from gateway.auth.rule import AuthorizationExtension
from gateway.direct import install as install_direct_resolvers
from gateway.errors import ErrorPolicy, log_errors
from gateway.execution import GatewayExecutionContext
from gateway.limits import OperationLimitsExtension
from gateway.mutations.accounting import AccountingMutations
from gateway.mutations.billing import BillingMutations
from gateway.mutations.department import DepartmentMutations
from gateway.mutations.employee import EmployeeMutations
from gateway.mutations.finance import FinanceMutations
from gateway.mutations.inventory import InventoryMutations
from gateway.mutations.payroll import PayrollMutations
from gateway.mutations.procurement import ProcurementMutations
from gateway.mutations.supply_chain import SupplyChainMutations
from gateway.parsing import ParsedDocuments
from gateway.prefetch import with_prefetch
from gateway.queries.accounting import AccountingQueries
from gateway.queries.billing import BillingQueries
from gateway.queries.employee import EmployeeQueries
from gateway.queries.finance import FinanceQueries
from gateway.queries.inventory import InventoryQueries
from gateway.queries.payroll import PayrollQueries
from gateway.queries.procurement import ProcurementQueries
from gateway.queries.supply_chain import SupplyChainQueries
from gateway.scalars import SCALAR_OVERRIDES
from gateway.subscriptions.fields import Subscription
from gateway.types.account import Account
from gateway.types.budget import Budget
from gateway.types.customer import Customer
from gateway.types.department import Department
from gateway.types.employee import Employee
from gateway.types.inventory_item import InventoryItem
from gateway.types.invoice import Invoice
from gateway.types.journal_entry import JournalEntry
from gateway.types.payroll_record import PayrollRecord
from gateway.types.payroll_run import PayrollRun
from gateway.types.purchase_order import PurchaseOrder
from gateway.types.shipment import Shipment
from gateway.types.vendor import Vendor

Query: Any = with_prefetch(
    merge_types(
        "Query",
        (
            EmployeeQueries,
            PayrollQueries,
            AccountingQueries,
            InventoryQueries,
            BillingQueries,
            ProcurementQueries,
            SupplyChainQueries,
            FinanceQueries,
        ),
    )
)
Mutation: Any = merge_types(
    "Mutation",
    (
        EmployeeMutations,
        DepartmentMutations,
        PayrollMutations,
        AccountingMutations,
        InventoryMutations,
        BillingMutations,
        ProcurementMutations,
        SupplyChainMutations,
        FinanceMutations,
    ),
)
ENTITIES = [
    Employee,
    Department,
    PayrollRecord,
    PayrollRun,
    Account,
    JournalEntry,
    InventoryItem,
    Customer,
    Invoice,
    Vendor,
    PurchaseOrder,
    Shipment,
    Budget,
]


class GatewaySchema(strawberry.federation.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        log_errors(errors)


schema = GatewaySchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=ENTITIES,
    extensions=[ErrorPolicy, OperationLimitsExtension, AuthorizationExtension, ParsedDocuments],
    scalar_overrides=SCALAR_OVERRIDES,
    execution_context_class=GatewayExecutionContext,
)
install_direct_resolvers(schema._schema)
