"""Operation limits, checked while the document is validated: before any resolver, so before any RPC.

- depth: the deepest chain of nested fields (a root field is at depth 1);
- aliases: aliased fields, counted each time a fragment using them is spread;
- root fields: fields selected at the operation's root (through fragments too);
- cost: every field counts once per item of the lists above it. A connection counts its `first`
  argument (the API's default page, 50, when absent), any other list its `first` argument or
  `default_list_size`, `_entities` its number of representations;
- tokens: counted by the parser (`max_tokens`), so a huge document is refused before it is parsed;
- introspection (`__schema`, `__type`) can be refused altogether.

`__typename` and introspection fields are free. The analysis summarises each fragment once, so a
document that spreads fragments exponentially costs linear time to check (and is then refused).
Each rejection is one error with a code (QUERY_TOO_DEEP, TOO_MANY_ALIASES, TOO_MANY_ROOT_FIELDS,
QUERY_TOO_COMPLEX, INTROSPECTION_DISABLED), the limit and the value found.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
)
from graphql.type.definition import GraphQLInterfaceType
from strawberry.extensions import SchemaExtension

from gateway.config import Limits
from gateway.pagination import DEFAULT_FIRST, MAX_PAGE

INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
FREE_FIELDS = frozenset({"__typename"})


@dataclass(frozen=True)
class Summary:
    """Of a selection set, for one instance of its parent: cost, depth below it, aliases."""

    cost: int = 0
    depth: int = 0
    aliases: int = 0
    introspection: bool = False

    def __add__(self, other: Summary) -> Summary:
        return Summary(
            self.cost + other.cost,
            max(self.depth, other.depth),
            self.aliases + other.aliases,
            self.introspection or other.introspection,
        )


@dataclass(frozen=True)
class Measures:
    depth: int
    aliases: int
    root_fields: int
    cost: int
    introspection: bool


Composite = GraphQLObjectType | GraphQLInterfaceType


def _is_connection(t: GraphQLNamedType | None) -> bool:
    return isinstance(t, GraphQLObjectType) and "edges" in t.fields and "pageInfo" in t.fields


class Analyzer:
    def __init__(
        self,
        context: ValidationContext,
        variables: Mapping[str, Any] | None,
        default_list_size: int,
    ) -> None:
        self.context = context
        self.schema = context.schema
        self.variables = variables or {}
        self.default_list_size = default_list_size
        self._fragments: dict[str, Summary] = {}
        self._in_progress: set[str] = set()

    def measure(self, operation: OperationDefinitionNode) -> Measures | None:
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return None
        summary = self.selections(operation.selection_set, root)
        return Measures(
            depth=summary.depth,
            aliases=summary.aliases,
            root_fields=sum(1 for _ in self._root_fields(operation.selection_set, set())),
            cost=summary.cost,
            introspection=summary.introspection,
        )

    def _root_fields(self, selection_set: SelectionSetNode, seen: set[str]) -> Iterator[FieldNode]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value not in FREE_FIELDS:
                    yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self._root_fields(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
                seen.add(selection.name.value)
                fragment = self.context.get_fragment(selection.name.value)
                if fragment is not None:
                    yield from self._root_fields(fragment.selection_set, seen)

    def selections(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType | None) -> Summary:
        total = Summary()
        if selection_set is None or not isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            return total
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(selection.selection_set, target)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return total

    def fragment(self, name: str) -> Summary:
        if name in self._fragments:
            return self._fragments[name]
        definition: FragmentDefinitionNode | None = self.context.get_fragment(name)
        if definition is None or name in self._in_progress:  # unknown or cyclic: other rules report it
            return Summary()
        self._in_progress.add(name)
        try:
            target = self.schema.get_type(definition.type_condition.name.value)
            summary = self.selections(definition.selection_set, target)
        finally:
            self._in_progress.discard(name)
        self._fragments[name] = summary
        return summary

    def field(self, node: FieldNode, parent: Composite) -> Summary:
        name = node.name.value
        if name in FREE_FIELDS:
            return Summary()
        if name in INTROSPECTION_FIELDS:
            return Summary(introspection=True)
        definition = parent.fields.get(name)
        if definition is None:  # unknown field: FieldsOnCorrectTypeRule reports it
            return Summary()
        nullable = get_nullable_type(definition.type)
        returned = get_named_type(definition.type)
        child = self.selections(node.selection_set, returned)
        size = self.list_size(node, parent, returned, isinstance(nullable, GraphQLList))
        return Summary(
            cost=1 + size * child.cost,
            depth=1 + child.depth,
            aliases=(1 if node.alias else 0) + child.aliases,
            introspection=child.introspection,
        )

    def list_size(self, node: FieldNode, parent: Composite, returned: GraphQLNamedType | None, is_list: bool) -> int:
        """How many times the field's selection is resolved per instance of the field."""
        if _is_connection(returned):
            first = self.int_argument(node, "first")
            return min(DEFAULT_FIRST if first is None else max(first, 0), MAX_PAGE)
        if not is_list or (node.name.value == "edges" and _is_connection(parent)):
            return 1
        if node.name.value == "_entities":
            representations = self.argument(node, "representations")
            if isinstance(representations, list):
                return len(representations)
        first = self.int_argument(node, "first")
        return self.default_list_size if first is None else max(first, 0)

    def argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value != name:
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                return self.variables.get(value.name.value)
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, ListValueNode):
                return list(value.values)
        return None

    def int_argument(self, node: FieldNode, name: str) -> int | None:
        value = self.argument(node, name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def limit_error(code: str, message: str, node: OperationDefinitionNode, limit: int, actual: int) -> GraphQLError:
    return GraphQLError(message, nodes=[node], extensions={"code": code, "limit": limit, "actual": actual})


def check(measures: Measures, limits: Limits, node: OperationDefinitionNode) -> list[GraphQLError]:
    errors = []
    if measures.introspection and not limits.introspection:
        errors.append(
            GraphQLError(
                "introspection is disabled on this server (use the published schema: gateway/schema.graphql)",
                nodes=[node],
                extensions={"code": "INTROSPECTION_DISABLED"},
            )
        )
    if measures.depth > limits.max_depth:
        errors.append(
            limit_error(
                "QUERY_TOO_DEEP",
                f"the operation nests fields {measures.depth} deep; at most {limits.max_depth} are allowed",
                node,
                limits.max_depth,
                measures.depth,
            )
        )
    if measures.aliases > limits.max_aliases:
        errors.append(
            limit_error(
                "TOO_MANY_ALIASES",
                f"the operation uses {measures.aliases} aliases; at most {limits.max_aliases} are allowed",
                node,
                limits.max_aliases,
                measures.aliases,
            )
        )
    if measures.root_fields > limits.max_root_fields:
        errors.append(
            limit_error(
                "TOO_MANY_ROOT_FIELDS",
                f"the operation selects {measures.root_fields} root fields; at most {limits.max_root_fields} "
                "are allowed",
                node,
                limits.max_root_fields,
                measures.root_fields,
            )
        )
    if measures.cost > limits.max_cost:
        errors.append(
            limit_error(
                "QUERY_TOO_COMPLEX",
                f"the operation's estimated cost is {measures.cost}; at most {limits.max_cost} is allowed "
                "(ask for smaller pages with `first`, or split the operation)",
                node,
                limits.max_cost,
                measures.cost,
            )
        )
    return errors


def limits_rule(limits: Limits, variables: Mapping[str, Any] | None) -> type[ValidationRule]:
    """A validation rule bound to this request's limits and variables."""

    class OperationLimits(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            measures = Analyzer(self.context, variables, limits.default_list_size).measure(node)
            if measures is not None:
                for error in check(measures, limits, node):
                    self.report_error(error)

    return OperationLimits


def limits_of(context: Any) -> Limits:
    limits = getattr(context, "limits", None)
    return limits if isinstance(limits, Limits) else Limits()


class OperationLimitsExtension(SchemaExtension):
    """Adds the limits of the request's context (`GatewayContext.limits`, defaults otherwise)."""

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        limits = limits_of(ctx.context)
        ctx.parse_options["max_tokens"] = limits.max_tokens
        ctx.validation_rules = (*ctx.validation_rules, limits_rule(limits, ctx.variables))
        yield
