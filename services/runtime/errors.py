"""Typed domain errors. The gRPC layer maps each to one status code (see grpc_errors.py).

Messages must never contain a sensitive value: they name fields, not their contents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D", bound=date)


class DomainError(Exception):
    """Base of every error a caller is meant to see."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class InvalidArgument(DomainError):
    """Bad input; carries one violation per offending field (google.rpc.BadRequest)."""

    def __init__(self, message: str, violations: list[FieldViolation] | None = None) -> None:
        super().__init__(message)
        self.violations = violations or []

    @classmethod
    def of(cls, violations: list[FieldViolation]) -> InvalidArgument:
        summary = "; ".join(f"{v.field}: {v.description}" for v in violations)
        return cls(f"invalid request: {summary}", violations)

    @classmethod
    def field(cls, field: str, description: str) -> InvalidArgument:
        return cls.of([FieldViolation(field, description)])


class NotFound(DomainError):
    """The named resource does not exist."""

    def __init__(self, resource: str, key: str) -> None:
        super().__init__(f"{resource} {key} not found")
        self.resource = resource
        self.key = key


class AlreadyExists(DomainError):
    """A unique value is taken."""


class StaleVersion(DomainError):
    """Optimistic locking: the caller's version is not the stored one (ABORTED)."""

    def __init__(self, resource: str, key: str, expected: int, actual: int) -> None:
        super().__init__(f"{resource} {key} is at version {actual}, not {expected}: read it again")
        self.expected = expected
        self.actual = actual


class FailedPrecondition(DomainError):
    """The operation is not allowed in the resource's current state."""


class PermissionDenied(DomainError):
    """The caller may not do this."""


class Unauthenticated(DomainError):
    """No valid identity."""


class Unavailable(DomainError):
    """A dependency is down or exhausted; the call may be retried."""


class Validator:
    """Collects field violations, then raises them all at once."""

    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def check(self, ok: bool, field: str, description: str) -> None:
        if not ok:
            self.violations.append(FieldViolation(field, description))

    def require(self, value: object, field: str) -> None:
        self.check(value not in (None, "", []), field, "is required")

    def max_len(self, value: str | None, field: str, limit: int) -> None:
        """Length limit; also refuses NUL characters, which PostgreSQL text cannot store."""
        self.check(value is None or len(value) <= limit, field, f"must be at most {limit} characters")
        self.check(value is None or "\x00" not in value, field, "must not contain NUL characters")

    def enum_values(
        self,
        values: Iterable[K],
        known: Mapping[K, V],
        field: str,
        unknown: str = "contains an unknown value ({value})",
    ) -> list[V]:
        """Map wire enum values to domain values; the first unknown one (or UNSPECIFIED) is a
        violation `unknown`, formatted with `{value}`, and ends the mapping."""
        out: list[V] = []
        for value in values:
            if value not in known:
                self.check(False, field, unknown.format(value=value))
                break
            out.append(known[value])
        return out

    def collect(self, parse: Callable[[], T]) -> T | None:
        """Run a parser; its InvalidArgument becomes violations here (so all are reported)."""
        try:
            return parse()
        except InvalidArgument as exc:
            self.violations.extend(exc.violations)
            return None

    def raise_if_any(self) -> None:
        if self.violations:
            raise InvalidArgument.of(self.violations)


def check_range(start: D | None, end: D | None, field: str, description: str) -> None:
    """INVALID_ARGUMENT on `field` when both bounds are given and the end is before the start."""
    if start is not None and end is not None and end < start:
        raise InvalidArgument.field(field, description)
