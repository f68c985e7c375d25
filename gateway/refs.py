"""Logical-reference fields, derived from the contracts' `(erp.common.v1.ref)` field options.

For a message, each field declared as a reference (`department_id` -> `erp.employee.v1.Department`)
becomes a GraphQL field (`department`) resolved through the loader registered for the target
message and the target field (`id` unless the option names another, e.g. `account_code` or
`sku`), so a list of N parents costs one batched RPC. Nobody keeps that list by hand:
`@with_references(pb.Employee.DESCRIPTOR)` reads it from the descriptor.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

import strawberry
from erp.common.v1 import options_pb2
from google.protobuf.descriptor import Descriptor
from strawberry.utils.str_converters import to_camel_case, to_snake_case

from gateway.loaded import Args, Loaded, attribute_key, loaded_by
from gateway.loaders import BY_REFERENCE

if TYPE_CHECKING:
    from gateway.context import GatewayInfo
    from gateway.loaders import Loaders

T = TypeVar("T")


@dataclass(frozen=True)
class EntityType:
    """The GraphQL type that renders an entity message (a class with `from_proto`)."""

    name: str
    module: str

    def annotation(self) -> Any:
        return Annotated[self.name, strawberry.lazy(self.module)]

    def resolve(self) -> Any:
        return getattr(importlib.import_module(self.module), self.name)


# Entity message -> GraphQL type. Its loaders (by id, and by other keys references use) are in
# `gateway.loaders.BY_REFERENCE`.
ENTITY_TYPES: dict[str, EntityType] = {
    "erp.employee.v1.Employee": EntityType("Employee", "gateway.types.employee"),
    "erp.employee.v1.Department": EntityType("Department", "gateway.types.department"),
    "erp.payroll.v1.PayrollRecord": EntityType("PayrollRecord", "gateway.types.payroll_record"),
    "erp.payroll.v1.PayrollRun": EntityType("PayrollRun", "gateway.types.payroll_run"),
    "erp.accounting.v1.Account": EntityType("Account", "gateway.types.account"),
    "erp.accounting.v1.JournalEntry": EntityType("JournalEntry", "gateway.types.journal_entry"),
    "erp.inventory.v1.InventoryItem": EntityType("InventoryItem", "gateway.types.inventory_item"),
    "erp.billing.v1.Customer": EntityType("Customer", "gateway.types.customer"),
    "erp.billing.v1.Invoice": EntityType("Invoice", "gateway.types.invoice"),
    "erp.procurement.v1.Vendor": EntityType("Vendor", "gateway.types.vendor"),
    "erp.procurement.v1.PurchaseOrder": EntityType("PurchaseOrder", "gateway.types.purchase_order"),
    "erp.supply_chain.v1.Shipment": EntityType("Shipment", "gateway.types.shipment"),
    "erp.finance.v1.Budget": EntityType("Budget", "gateway.types.budget"),
}


@dataclass(frozen=True)
class Reference:
    field: str  # the referring field of the source message, e.g. "department_id", "account_code"
    target: str  # full name of the target message, e.g. "erp.employee.v1.Department"
    graphql_field: str  # e.g. "department", "journalEntry"
    target_field: str = "id"  # the target's field the value matches, e.g. "account_code"

    @property
    def attribute(self) -> str:
        """The Python attribute of the GraphQL type ("journal_entry")."""
        return to_snake_case(self.graphql_field)


@functools.cache
def references(descriptor: Descriptor) -> tuple[Reference, ...]:
    out = []
    for field in descriptor.fields:
        options = field.GetOptions()
        if not options.HasExtension(options_pb2.ref):
            continue
        ref = options.Extensions[options_pb2.ref]
        name = to_camel_case(ref.graphql_field or field.name.removesuffix("_id"))
        out.append(Reference(field.name, ref.target, name, ref.target_field or "id"))
    return tuple(out)


def _describe(ref: Reference, target: EntityType) -> str:
    if ref.target_field == "id":
        return f"The {target.name} that `{to_camel_case(ref.field)}` refers to (a logical reference)."
    target_field, field = to_camel_case(ref.target_field), to_camel_case(ref.field)
    return f"The {target.name} whose `{target_field}` equals `{field}` (a logical reference)."


def reference_field(ref: Reference) -> Any:
    target = ENTITY_TYPES[ref.target]
    get_loader = BY_REFERENCE.get((ref.target, ref.target_field))
    if get_loader is None:
        raise NotImplementedError(f"{ref.field}: no loader of {ref.target} by {ref.target_field}")
    convert: list[Callable[[Any], Any]] = []  # the target type's from_proto, imported on first use

    def finish(loaders: Loaders, root: Any, message: Any, args: Args) -> Any:
        if message is None:
            return None
        if not convert:
            convert.append(target.resolve().from_proto)
        return loaders.view(message, convert[0])

    spec: Loaded[Any, str, Any] = Loaded(get_loader, attribute_key(ref.field), finish)

    @loaded_by(spec)
    def resolve(root: Any, info: GatewayInfo) -> Any:
        return spec.resolve(info.context.loaders, root, {})

    resolve.__annotations__ = {"root": Any, "info": strawberry.Info, "return": Any}
    return strawberry.field(
        resolver=resolve,
        name=ref.graphql_field,
        graphql_type=Optional[target.annotation()],  # noqa: UP045 (an Annotated forward reference)
        description=_describe(ref, target),
    )


def with_references(descriptor: Descriptor, *, skip: frozenset[str] = frozenset()) -> Callable[[type[T]], type[T]]:
    """Class decorator (under `@strawberry.type`): adds one field per reference of the message,
    except the fields named in `skip` (references the type resolves by hand)."""

    def add(cls: type[T]) -> type[T]:
        for ref in references(descriptor):
            if ref.field not in skip:
                setattr(cls, ref.attribute, reference_field(ref))
        return cls

    return add
