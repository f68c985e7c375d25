"""Per-request DataLoaders over the services' batch RPCs (one set per GraphQL request).

Loaders return protobuf messages; the GraphQL types convert them. Each batch is one RPC (or one
paged listing), whatever the number of keys asked for in the same tick. `for_reference` finds
the loader of an entity by the field a logical reference matches (`id`, `account_code`, `sku`),
which is how `gateway.refs` resolves every reference field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from google.protobuf.message import Message
from strawberry.dataloader import DataLoader

from gateway.clients import Clients
from gateway.loaders.accounting import AccountingLoaders
from gateway.loaders.billing import BillingLoaders
from gateway.loaders.employee import EmployeeLoaders
from gateway.loaders.finance import FinanceLoaders
from gateway.loaders.inventory import InventoryLoaders
from gateway.loaders.payroll import PayrollLoaders
from gateway.loaders.procurement import ProcurementLoaders
from gateway.loaders.supply_chain import SupplyChainLoaders

Getter = Callable[["Loaders"], DataLoader[str, Any]]
M = TypeVar("M", bound=Message)
T = TypeVar("T")

# (entity message, field a reference matches) -> its loader.
BY_REFERENCE: dict[tuple[str, str], Getter] = {
    ("erp.employee.v1.Employee", "id"): lambda ls: ls.employee.employees,
    ("erp.employee.v1.Department", "id"): lambda ls: ls.employee.departments,
    ("erp.employee.v1.Department", "name"): lambda ls: ls.employee.departments_by_name,
    ("erp.payroll.v1.PayrollRecord", "id"): lambda ls: ls.payroll.records,
    ("erp.payroll.v1.PayrollRun", "id"): lambda ls: ls.payroll.runs,
    ("erp.accounting.v1.Account", "id"): lambda ls: ls.accounting.accounts,
    ("erp.accounting.v1.Account", "account_code"): lambda ls: ls.accounting.accounts_by_code,
    ("erp.accounting.v1.JournalEntry", "id"): lambda ls: ls.accounting.journal_entries,
    ("erp.inventory.v1.InventoryItem", "id"): lambda ls: ls.inventory.items,
    ("erp.inventory.v1.InventoryItem", "sku"): lambda ls: ls.inventory.items_by_sku,
    ("erp.billing.v1.Customer", "id"): lambda ls: ls.billing.customers,
    ("erp.billing.v1.Invoice", "id"): lambda ls: ls.billing.invoices,
    ("erp.procurement.v1.Vendor", "id"): lambda ls: ls.procurement.vendors,
    ("erp.procurement.v1.PurchaseOrder", "id"): lambda ls: ls.procurement.purchase_orders,
    ("erp.supply_chain.v1.Shipment", "id"): lambda ls: ls.supply_chain.shipments,
    ("erp.finance.v1.Budget", "id"): lambda ls: ls.finance.budgets,
}
SENSITIVE_BY_ENTITY: dict[str, Getter] = {"erp.employee.v1.Employee": lambda ls: ls.employee.sensitive_employees}

# Entity message -> (field, loader) for every key it can be loaded by.
_KEYS: dict[str, list[tuple[str, Getter]]] = {}
for (_name, _field), _get in BY_REFERENCE.items():
    _KEYS.setdefault(_name, []).append((_field, _get))


@dataclass
class Loaders:
    clients: Clients
    employee: EmployeeLoaders = field(init=False)
    payroll: PayrollLoaders = field(init=False)
    accounting: AccountingLoaders = field(init=False)
    inventory: InventoryLoaders = field(init=False)
    billing: BillingLoaders = field(init=False)
    procurement: ProcurementLoaders = field(init=False)
    supply_chain: SupplyChainLoaders = field(init=False)
    finance: FinanceLoaders = field(init=False)
    # (id(message), converter) -> (message, its GraphQL object): see `view`
    _views: dict[tuple[int, Any], tuple[Message, Any]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.employee = EmployeeLoaders(self.clients)
        self.payroll = PayrollLoaders(self.clients)
        self.accounting = AccountingLoaders(self.clients)
        self.inventory = InventoryLoaders(self.clients)
        self.billing = BillingLoaders(self.clients)
        self.procurement = ProcurementLoaders(self.clients)
        self.supply_chain = SupplyChainLoaders(self.clients)
        self.finance = FinanceLoaders(self.clients)

    def for_reference(self, full_name: str, field: str = "id") -> DataLoader[str, Any]:
        """The loader of an entity message by one of its keys ("erp.accounting.v1.Account", "account_code")."""
        return BY_REFERENCE[full_name, field](self)

    def for_entity(self, full_name: str) -> DataLoader[str, Any]:
        """The by-id loader registered for an entity message ("erp.employee.v1.Employee")."""
        return self.for_reference(full_name)

    def for_sensitive(self, full_name: str) -> DataLoader[str, Any]:
        """The by-id loader that also returns the entity's sensitive fields."""
        return SENSITIVE_BY_ENTITY[full_name](self)

    def view(self, message: M, convert: Callable[[M], T]) -> T:
        """The GraphQL object of a loaded message, converted once per request: every reference
        to the same entity (a thousand journal lines naming five accounts) shares one object.
        The message is kept with it, so its id cannot be reused while the request runs."""
        key = (id(message), convert)
        seen = self._views.get(key)
        if seen is not None and seen[0] is message:
            return seen[1]  # type: ignore[no-any-return]
        converted = convert(message)
        self._views[key] = (message, converted)
        return converted

    def remember(self, messages: Iterable[Message], *, changed: bool = False) -> None:
        """Seed every key's cache with entities a list or a command already returned; `changed`
        replaces what this request had seen (after a command)."""
        for message in messages:
            for key, get in _KEYS.get(message.DESCRIPTOR.full_name, ()):
                get(self).prime(getattr(message, key), message, force=changed)
