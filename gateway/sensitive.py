"""Sensitive fields, derived from the contracts' `(erp.common.v1.sensitive)` field options.

The basic loaders never ask for them. Each one becomes a GraphQL field that, only when selected,
reads the entity through the sensitive-view loader (one more batched RPC per level).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry
from erp.common.v1 import options_pb2
from google.protobuf.descriptor import Descriptor

from gateway.loaded import Args, Loaded, attribute_key, loaded_by
from services.runtime.redaction import sensitive_field_names

if TYPE_CHECKING:
    from gateway.context import GatewayInfo
    from gateway.loaders import Loaders

T = TypeVar("T")


def entity_key(descriptor: Descriptor) -> str:
    return descriptor.GetOptions().Extensions[options_pb2.entity_key] or "id"


def sensitive_field(descriptor: Descriptor, name: str) -> Any:
    full_name, key = descriptor.full_name, entity_key(descriptor)

    def finish(loaders: Loaders, root: Any, message: Any, args: Args) -> str | None:
        return (getattr(message, name) or None) if message is not None else None

    spec: Loaded[Any, str, Any] = Loaded(lambda loaders: loaders.for_sensitive(full_name), attribute_key(key), finish)

    @loaded_by(spec)
    def resolve(root: Any, info: GatewayInfo) -> Any:
        return spec.resolve(info.context.loaders, root, {})

    resolve.__annotations__ = {"root": Any, "info": strawberry.Info, "return": Any}
    return strawberry.field(
        resolver=resolve,
        graphql_type=str | None,
        description="Sensitive personal data, read only when selected (null when unset).",
    )


def with_sensitive_fields(descriptor: Descriptor) -> Callable[[type[T]], type[T]]:
    """Class decorator (under `@strawberry.type`): adds one field per sensitive field of the message."""

    def add(cls: type[T]) -> type[T]:
        for name in sorted(sensitive_field_names(descriptor), key=lambda n: descriptor.fields_by_name[n].number):
            setattr(cls, name, sensitive_field(descriptor, name))
        return cls

    return add
