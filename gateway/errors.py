"""What a GraphQL caller sees when something fails.

A gRPC failure becomes a GraphQL error with `extensions.code` (Apollo's vocabulary where there is
one), the `service` that answered and its `grpcStatus`; bad input also carries the service's
`fieldViolations`. Domain messages are written for callers and pass through; transport and
unexpected errors get a generic message and a reference id, their details go to the log only.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from services.runtime.grpc_errors import field_violations

log = logging.getLogger(__name__)

S = grpc.StatusCode
CODES: dict[grpc.StatusCode, str] = {
    S.INVALID_ARGUMENT: "BAD_USER_INPUT",
    S.OUT_OF_RANGE: "BAD_USER_INPUT",
    S.NOT_FOUND: "NOT_FOUND",
    S.ALREADY_EXISTS: "CONFLICT",
    S.ABORTED: "CONFLICT",
    S.FAILED_PRECONDITION: "FAILED_PRECONDITION",
    S.PERMISSION_DENIED: "FORBIDDEN",
    S.UNAUTHENTICATED: "UNAUTHENTICATED",
    S.UNAVAILABLE: "UNAVAILABLE",
    S.DEADLINE_EXCEEDED: "UNAVAILABLE",
    S.RESOURCE_EXHAUSTED: "UNAVAILABLE",
}
# Statuses whose message the service wrote for the caller (domain errors, see services.runtime.errors).
CALLER_MESSAGES = {
    S.INVALID_ARGUMENT,
    S.NOT_FOUND,
    S.ALREADY_EXISTS,
    S.ABORTED,
    S.FAILED_PRECONDITION,
    S.PERMISSION_DENIED,
    S.UNAUTHENTICATED,
}
REFERENCE = re.compile(r"\(reference ([0-9a-f-]{36})\)")


class ServiceError(GraphQLError):
    """A failed RPC, ready for the response."""


def rpc_error(service: str, exc: grpc.aio.AioRpcError) -> ServiceError:
    status: grpc.StatusCode = exc.code()
    extensions: dict[str, Any] = {"code": CODES.get(status, "INTERNAL"), "service": service, "grpcStatus": status.name}
    details = exc.details() or ""
    if status in CALLER_MESSAGES:
        message = details or f"the {service} service answered {status.name}"
    elif status in (S.UNAVAILABLE, S.RESOURCE_EXHAUSTED):
        message = f"the {service} service is unavailable; retry shortly"
    elif status == S.DEADLINE_EXCEEDED:
        message = f"the {service} service did not answer in time; retry shortly"
    else:
        found = REFERENCE.search(details)
        ref = found.group(1) if found else str(uuid.uuid4())
        message = f"internal error in the {service} service (reference {ref})"
        extensions["reference"] = ref
    if status not in CALLER_MESSAGES:
        log.warning("%s RPC failed with %s: %s", service, status.name, details)
    if status == S.INVALID_ARGUMENT:
        extensions["fieldViolations"] = [{"field": f, "description": d} for f, d in field_violations(exc)]
    return ServiceError(message, extensions=extensions)


def circuit_open_error(service: str, retry_after_s: float) -> ServiceError:
    """A call the circuit breaker skipped: the service failed repeatedly just before."""
    return ServiceError(
        f"the {service} service is unavailable (it failed repeatedly; calls are paused); retry shortly",
        extensions={
            "code": "SERVICE_UNAVAILABLE",
            "service": service,
            "grpcStatus": "UNAVAILABLE",
            "retryAfterSeconds": round(retry_after_s, 1),
        },
    )


def bad_input(field: str, description: str) -> GraphQLError:
    """Bad input the gateway itself detects (e.g. a cursor it did not issue)."""
    return GraphQLError(
        f"invalid request: {field}: {description}",
        extensions={"code": "BAD_USER_INPUT", "fieldViolations": [{"field": field, "description": description}]},
    )


PHASE_CODES = {"parse": "GRAPHQL_PARSE_FAILED", "validate": "GRAPHQL_VALIDATION_FAILED", "execute": "BAD_USER_INPUT"}


def _classify(error: GraphQLError, phase: str) -> GraphQLError:
    if error.extensions and "code" in error.extensions:
        return error
    if error.path is None:
        # The request itself is wrong: syntax, validation, or variables that do not coerce.
        code = PHASE_CODES.get(phase, "BAD_USER_INPUT")
        if "Document contains more than" in error.message:  # the parser's max_tokens
            code = "QUERY_TOO_LARGE"
        error.extensions = {**(error.extensions or {}), "code": code}
        return error
    ref = uuid.uuid4()
    log.error("internal error %s at %s", ref, ".".join(map(str, error.path)), exc_info=error.original_error)
    return GraphQLError(
        f"internal error (reference {ref})",
        nodes=error.nodes,
        path=error.path,
        extensions={"code": "INTERNAL", "reference": str(ref)},
    )


class ErrorPolicy(SchemaExtension):
    """Gives every error a code; replaces unexpected ones by an INTERNAL error with a reference."""

    phase = "parse"

    def on_validate(self) -> Iterator[None]:
        self.phase = "validate"
        yield

    def on_execute(self) -> Iterator[None]:
        self.phase = "execute"
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [_classify(e, self.phase) for e in errors]


def log_errors(errors: list[GraphQLError]) -> None:
    """Replaces Strawberry's default (a traceback per error): expected errors are not incidents."""
    for error in errors:
        if error.extensions and "code" in error.extensions:
            log.info("GraphQL error %s: %s", error.extensions["code"], error.message)
