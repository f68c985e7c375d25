"""Cross-service references, read from the contracts: a field with `(erp.common.v1.ref)` in a
message with `(erp.common.v1.table)` is a column whose values must exist in the target message's
table, in the database of the service that owns the target (e.g. payroll_db.payroll_records.
employee_id -> employee_db.employees.id). Nobody keeps this list by hand."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from erp.common.v1 import options_pb2
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor

from services.runtime.events import service_of
from services.runtime.redaction import contract_modules


@dataclass(frozen=True)
class Reference:
    service: str  # the referring service (whose database holds the column)
    table: str
    column: str
    target_service: str
    target_table: str
    target_column: str

    def __str__(self) -> str:
        return (
            f"{self.service}_db.{self.table}.{self.column} -> "
            f"{self.target_service}_db.{self.target_table}.{self.target_column}"
        )


def table_of(descriptor: Descriptor) -> str:
    return str(descriptor.GetOptions().Extensions[options_pb2.table])


@functools.cache
def cross_service_references() -> tuple[Reference, ...]:
    """Every stored reference from one service's table to another service's table."""
    pool = descriptor_pool.Default()
    found: set[Reference] = set()
    for module in contract_modules():
        for message in module.DESCRIPTOR.message_types_by_name.values():
            table = table_of(message)
            if not table:
                continue
            for field in message.fields:
                ref = field.GetOptions().Extensions[options_pb2.ref]
                if not ref.target:
                    continue
                target = pool.FindMessageTypeByName(ref.target)
                source, owner = service_of(message.full_name), service_of(ref.target)
                if source != owner and table_of(target):
                    column = ref.target_field or "id"
                    found.add(Reference(source, table, field.name, owner, table_of(target), column))
    return tuple(sorted(found, key=str))
