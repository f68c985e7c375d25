"""Logical-reference fields, derived from the contracts' `(erp.common.v1.ref)` field options.

For a message, each field declared as a reference (`department_id` -> `erp.employee.v1.Department`)
becomes a GraphQL field (`department`) resolved through the by-id loader registered for the
target message, so a list of N parents costs one batched RPC. Nobody keeps that list by hand:
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
from strawberry.utils.str_converters import to_camel_case

if TYPE_CHECKING:
    from gateway.context import GatewayInfo

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


# Entity message -> GraphQL type. The loader of each comes from `Loaders.for_entity`.
ENTITY_TYPES: dict[str, EntityType] = {
    "erp.employee.v1.Employee": EntityType("Employee", "gateway.types.employee"),
    "erp.employee.v1.Department": EntityType("Department", "gateway.types.department"),
}


@dataclass(frozen=True)
class Reference:
    field: str  # the id field of the source message, e.g. "department_id"
    target: str  # full name of the target message, e.g. "erp.employee.v1.Department"
    graphql_field: str  # e.g. "department"


@functools.cache
def references(descriptor: Descriptor) -> tuple[Reference, ...]:
    out = []
    for field in descriptor.fields:
        options = field.GetOptions()
        if not options.HasExtension(options_pb2.ref):
            continue
        ref = options.Extensions[options_pb2.ref]
        if ref.target_field not in ("", "id"):
            raise NotImplementedError(f"{field.full_name}: references by {ref.target_field} are not supported")
        name = ref.graphql_field or field.name.removesuffix("_id")
        out.append(Reference(field.name, ref.target, name))
    return tuple(out)


def reference_field(ref: Reference) -> Any:
    target = ENTITY_TYPES[ref.target]

    async def resolve(root: Any, info: GatewayInfo) -> Any:
        key = getattr(root, ref.field)
        if not key:
            return None
        message = await info.context.loaders.for_entity(ref.target).load(key)
        return None if message is None else target.resolve().from_proto(message)

    resolve.__annotations__ = {"root": Any, "info": strawberry.Info, "return": Any}
    return strawberry.field(
        resolver=resolve,
        name=ref.graphql_field,
        graphql_type=Optional[target.annotation()],  # noqa: UP045 (an Annotated forward reference)
        description=f"The {target.name} that `{to_camel_case(ref.field)}` refers to (a logical reference).",
    )


def with_references(descriptor: Descriptor) -> Callable[[type[T]], type[T]]:
    """Class decorator (under `@strawberry.type`): adds one field per reference of the message."""

    def add(cls: type[T]) -> type[T]:
        for ref in references(descriptor):
            setattr(cls, ref.graphql_field, reference_field(ref))
        return cls

    return add
