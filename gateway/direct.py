"""Direct resolvers for the fields that need nothing of Strawberry's resolver wrapper.

Strawberry wraps every resolver it builds: an `Info` object, argument conversion to Python
names and input types, field extensions and permissions, then the function itself, and even a
plain attribute goes through two calls before `getattr`. On a read of 10^4 fields that wrapping
was a fifth of the request's CPU. Once the schema is built, `install` gives graphql-core a
direct function for the fields where the wrapper has nothing to do:

- plain attributes (no resolver, no extension, no permission): `getattr(source, python_name)`,
  exactly Strawberry's default resolver;
- `Loaded` fields (gateway/loaded.py) without extensions or permissions, whose arguments are
  scalars: `spec.resolve(loaders, source, args)` with the arguments by Python name, as the
  Strawberry resolver would call it.

The schema, its SDL and every value and error stay the same (the tests run the whole API
through it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
)
from strawberry.types.field import StrawberryField
from strawberry.types.unset import UNSET

from gateway.loaded import LOADED, Loaded

DEFINITION = "strawberry-definition"  # where Strawberry keeps a GraphQL field's StrawberryField
Resolver = Callable[..., Any]


# id(GraphQL field) -> (Python attribute, leaf type, non-null, the field) of the plain attributes
# whose type is a scalar or an enum: what `gateway.execution` completes without graphql-core's
# general path. Holding the field keeps its id from being reused by another schema's field.
LEAVES: dict[int, tuple[str, GraphQLLeafType, bool, GraphQLField]] = {}


def _attribute(name: str) -> Resolver:
    def resolve(source: Any, _info: Any) -> Any:
        return getattr(source, name)

    return resolve


def _loaded(spec: Loaded[Any, Any, Any], field: StrawberryField, definition: GraphQLField) -> Resolver | None:
    names = []
    for argument in field.arguments:
        graphql_name = argument.graphql_name or argument.python_name
        graphql_argument = definition.args.get(graphql_name)
        if graphql_argument is None or not is_leaf_type(get_named_type(graphql_argument.type)):
            return None  # e.g. an input object: Strawberry converts it
        default = None if argument.default is UNSET else argument.default
        names.append((graphql_name, argument.python_name, default))

    def resolve(source: Any, info: Any, **values: Any) -> Any:
        args = {python: values.get(graphql, default) for graphql, python, default in names}
        return spec.resolve(info.context.loaders, source, args)

    return resolve


def _plain(field: StrawberryField) -> bool:
    return not field.extensions and not field.permission_classes


def direct_resolver(definition: GraphQLField) -> Resolver | None:
    """The direct resolver of a GraphQL field, or None to keep Strawberry's."""
    field = definition.extensions.get(DEFINITION) if definition.extensions else None
    if not isinstance(field, StrawberryField) or not _plain(field):
        return None
    if field.base_resolver is None:
        return _attribute(field.python_name) if getattr(definition.resolve, "_is_default", False) else None
    spec = LOADED.get(field.base_resolver.wrapped_func)
    return None if spec is None else _loaded(spec, field, definition)


def install(schema: GraphQLSchema) -> int:
    """Installs the direct resolvers in a built schema; returns how many fields got one."""
    count = 0
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for definition in named.fields.values():
            resolver = direct_resolver(definition)
            if resolver is None:
                continue
            definition.resolve = resolver
            count += 1
            field = definition.extensions[DEFINITION]
            leaf = get_nullable_type(definition.type)
            if field.base_resolver is None and is_leaf_type(leaf):
                LEAVES[id(definition)] = (field.python_name, leaf, is_non_null_type(definition.type), definition)
    return count
