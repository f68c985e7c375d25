"""Mapping of domain errors to gRPC status codes, with google.rpc rich details.

The one place that decides what a caller sees when something goes wrong. Unexpected errors
are INTERNAL with a reference id; their details go to the log, never to the caller.
"""

from __future__ import annotations

import logging
import uuid

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from sqlalchemy.exc import TimeoutError as PoolTimeout

from services.runtime import errors

log = logging.getLogger(__name__)

_CODES: list[tuple[type[errors.DomainError], grpc.StatusCode]] = [
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.StaleVersion, grpc.StatusCode.ABORTED),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
]


def status_for(exc: BaseException) -> grpc.Status:
    """The full gRPC status (code, message, details) for an exception."""
    if isinstance(exc, PoolTimeout):
        exc = errors.Unavailable("the service's database pool is exhausted; retry shortly")
    if isinstance(exc, errors.DomainError):
        code = next(c for t, c in _CODES if isinstance(exc, t))
        status = status_pb2.Status(code=code.value[0], message=exc.message)
        if isinstance(exc, errors.InvalidArgument) and exc.violations:
            detail = any_pb2.Any()
            detail.Pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                        for v in exc.violations
                    ]
                )
            )
            status.details.append(detail)
        return rpc_status.to_status(status)
    ref = uuid.uuid4()
    log.exception("internal error %s", ref, exc_info=exc)
    status = status_pb2.Status(code=code_pb2.INTERNAL, message=f"internal error (reference {ref})")
    return rpc_status.to_status(status)


def field_violations(error: grpc.aio.AioRpcError | grpc.RpcError) -> list[tuple[str, str]]:
    """Client side: the BadRequest field violations carried by an error, if any."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    out: list[tuple[str, str]] = []
    if status is None:
        return out
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            br = error_details_pb2.BadRequest()
            detail.Unpack(br)
            out.extend((v.field, v.description) for v in br.field_violations)
    return out
