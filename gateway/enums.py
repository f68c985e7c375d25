"""GraphQL enums and their protobuf twins, matched by name.

`ProtoEnum(PayrollRecordStatus, pb.PayrollRecordStatus, "PAYROLL_RECORD_STATUS_")` pairs
`PENDING` with `PAYROLL_RECORD_STATUS_PENDING`; a value missing on either side (other than
UNSPECIFIED) fails at import, so the two cannot drift apart silently.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from google.protobuf.internal.enum_type_wrapper import _EnumTypeWrapper

E = TypeVar("E", bound=enum.Enum)
V = TypeVar("V", bound=int)


class ProtoEnum(Generic[E, V]):
    def __init__(self, graphql: type[E], proto: _EnumTypeWrapper[V], prefix: str) -> None:
        names = {v.name.removeprefix(prefix): v.number for v in proto.DESCRIPTOR.values if v.number}
        if set(names) != {m.name for m in graphql}:
            raise TypeError(f"{graphql.__name__} does not match {proto.DESCRIPTOR.full_name}")
        self._from: dict[int, E] = {number: graphql[name] for name, number in names.items()}
        self._to: dict[E, V] = {member: number for number, member in self._from.items()}  # type: ignore[misc]

    def from_pb(self, value: int) -> E:
        return self._from[value]

    def to_pb(self, value: E) -> V:
        return self._to[value]

    def to_pb_list(self, values: Iterable[E] | None) -> list[V]:
        return [self._to[v] for v in values or ()]
