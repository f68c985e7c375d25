"""The scopes of an operation, checked while its document is validated: before any resolver, so
nothing is fetched or written for an operation its caller may not run.

Every field of the document (fragments included) is checked against `policy`: its own
declaration, and its parent type's service scope. A request without an acceptable token, when
authentication is required, gets one UNAUTHENTICATED error; a missing scope one FORBIDDEN error
per field (`extensions.scope` names the scope).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, ValidationRule
from strawberry.extensions import SchemaExtension

from gateway.auth.policy import required_scopes
from gateway.auth.tokens import AuthState

FREE = frozenset({"__typename", "__schema", "__type"})


def auth_of(context: Any) -> AuthState:
    state = getattr(context, "auth", None)
    return state if isinstance(state, AuthState) else AuthState()


def unauthenticated(reason: str, node: Any = None) -> GraphQLError:
    return GraphQLError(reason, nodes=[node] if node is not None else None, extensions={"code": "UNAUTHENTICATED"})


def scope_rule(state: AuthState) -> type[ValidationRule]:
    """A validation rule bound to this request's caller."""

    class Scopes(ValidationRule):
        reported: set[str]

        def enter_document(self, *_args: Any) -> None:
            self.reported = set()
            self.refused = False

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> Any:
            if state.required and state.principal is None and not self.refused:
                self.refused = True
                reason = state.error or "authentication required: send `Authorization: Bearer <token>`"
                self.report_error(unauthenticated(reason, node))
            return None

        def enter_field(self, node: FieldNode, *_args: Any) -> None:
            if self.refused or node.name.value in FREE:
                return
            parent = self.context.get_parent_type()
            if parent is None:  # unknown type: other rules report it
                return
            name = f"{parent.name}.{node.name.value}"
            if self.context.get_field_def() is None:
                return  # unknown field: FieldsOnCorrectTypeRule reports it
            needed, declared = required_scopes(parent.name, node.name.value)
            if not declared:
                self._forbid(name, node, f"{name} declares no scope: it is refused to everyone", None)
                return
            missing = sorted(s for s in needed if not state.allows(s))
            if missing:
                self._forbid(name, node, f"{name} requires the scope {missing[0]}", missing[0])

        def _forbid(self, name: str, node: FieldNode, message: str, scope: str | None) -> None:
            if name in self.reported:
                return
            self.reported.add(name)
            extensions: dict[str, Any] = {"code": "FORBIDDEN", "field": name}
            if scope:
                extensions["scope"] = scope
            self.report_error(GraphQLError(message, nodes=[node], extensions=extensions))

    return Scopes


class AuthorizationExtension(SchemaExtension):
    """Adds the scope rule for the caller of the request's context (`GatewayContext.auth`)."""

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        state = auth_of(ctx.context)
        if state.required:  # nothing to check when authentication is off
            ctx.validation_rules = (*ctx.validation_rules, scope_rule(state))
        yield
