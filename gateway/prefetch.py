"""Selection-driven prefetch: load a root field's whole selection level by level, before
graphql-core walks it.

Without it every `Loaded` field of a list is pending when graphql-core reaches it, so each one
costs a coroutine, and every object and list above it a gather with a task per item: for a read
of 10^4 fields that bookkeeping, not the RPCs, is most of the request's time. The prefetch walks
the operation's selection below a root field (fragments, aliases, `@skip`/`@include` as the
executor collects them) over the objects the root resolver returned: a `Loaded` field is loaded
for all the objects of its level at once (the same one batch per loader and level as without
the prefetch, independent branches in parallel), a plain attribute is read, anything else (a
resolver of its own, an interface) ends that branch. Every field then finds its data loaded and
resolves without awaiting. Nothing here changes a value or an error: a failed load stays in the
loader's future and the field reports it when resolved; a branch the prefetch does not cover is
resolved as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from graphql import GraphQLField, GraphQLObjectType, GraphQLResolveInfo, get_named_type
from graphql.execution.collect_fields import FieldDetails, FragmentDetails, collect_subfields
from graphql.execution.values import VariableValues, get_argument_values
from strawberry.extensions import FieldExtension
from strawberry.types import Info
from strawberry.types.field import StrawberryField
from strawberry.types.unset import UNSET

from gateway.direct import DEFINITION
from gateway.loaded import LOADED, Args
from gateway.loaders import Loaders

log = logging.getLogger(__name__)
T = TypeVar("T")


class Walk:
    """One prefetch: the operation's context, shared by every level."""

    def __init__(self, info: GraphQLResolveInfo[Any], loaders: Loaders) -> None:
        self.info = info
        self.loaders = loaders
        self.fragments = {name: FragmentDetails(f) for name, f in info.fragments.items()}
        # Strawberry's info carries the coerced variables only: what directives and scalar
        # arguments read (the sources matter only to variables inside input literals).
        variables = info.variable_values
        self.variables = variables if isinstance(variables, VariableValues) else VariableValues({}, variables)

    async def below(self, parent_type: Any, values: list[Any], nodes: list[FieldDetails]) -> None:
        """Everything the selection `nodes` reads on `values` (objects of `parent_type`)."""
        if not values or not isinstance(parent_type, GraphQLObjectType):
            return
        info = self.info
        grouped = collect_subfields(
            info.schema, self.fragments, self.variables, info.operation, parent_type, nodes
        ).grouped_field_set
        branches = []
        for details in grouped.values():
            definition = parent_type.fields.get(details[0].node.name.value)
            if definition is not None and isinstance(get_named_type(definition.type), GraphQLObjectType):
                branches.append(self.field(definition, values, details))
        if len(branches) == 1:
            await branches[0]
        elif branches:
            await asyncio.gather(*branches)

    async def field(self, definition: GraphQLField, parents: list[Any], details: list[FieldDetails]) -> None:
        field = definition.extensions.get(DEFINITION)
        if not isinstance(field, StrawberryField):
            return
        if field.base_resolver is None:  # a plain attribute
            children = [getattr(parent, field.python_name) for parent in parents]
        else:
            spec = LOADED.get(field.base_resolver.wrapped_func)
            if spec is None:  # a resolver of its own: resolved (and awaited) as before
                return
            children = await spec.prefetch(self.loaders, parents, self.arguments(field, definition, details))
        await self.below(get_named_type(definition.type), list(_objects(children)), details)

    def arguments(self, field: StrawberryField, definition: GraphQLField, details: list[FieldDetails]) -> Args:
        """The field's arguments by Python name, as the resolver receives them (scalars only:
        that is all `Loaded` fields take)."""
        values = get_argument_values(definition, details[0].node, self.variables)
        out: Args = {}
        for argument in field.arguments:
            name = argument.graphql_name or argument.python_name
            default = None if argument.default is UNSET else argument.default
            out[argument.python_name] = values.get(name, default)
        return out


def _objects(values: Iterable[Any]) -> Iterator[Any]:
    """The non-null objects among field values, lists flattened."""
    for value in values:
        if isinstance(value, list):
            yield from _objects(value)
        elif value is not None:
            yield value


async def prefetch(info: GraphQLResolveInfo[Any], loaders: Loaders, value: Any) -> None:
    """Loads what the selection below the field being resolved reads on its `value`."""
    nodes = [FieldDetails(node, None) for node in info.field_nodes]
    try:
        await Walk(info, loaders).below(get_named_type(info.return_type), list(_objects([value])), nodes)
    except Exception:  # an optimisation only: the fields still load what they need themselves
        log.exception("prefetch of %s failed", info.field_name)


class Prefetch(FieldExtension):
    """On a root field: once its resolver returned, prefetch the selection below it."""

    def resolve(self, next_: Any, source: Any, info: Info[Any, Any], **kwargs: Any) -> Any:
        return next_(source, info, **kwargs)  # a synchronous root field returns what it has

    async def resolve_async(self, next_: Any, source: Any, info: Info[Any, Any], **kwargs: Any) -> Any:
        value = await next_(source, info, **kwargs)
        loaders = getattr(info.context, "loaders", None)
        if isinstance(loaders, Loaders):
            await prefetch(info._raw_info, loaders, value)
        return value


def with_prefetch(root: T) -> T:
    """Adds `Prefetch` to every resolver field of a root type (a merged `Query`)."""
    for field in root.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        if field.base_resolver is not None and not any(isinstance(e, Prefetch) for e in field.extensions):
            field.extensions.append(Prefetch())
    return root


__all__ = ["Prefetch", "prefetch", "with_prefetch"]
