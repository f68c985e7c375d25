"""Sensitive data, derived from the contracts' `(erp.common.v1.sensitive)` option.

Nobody keeps a list of sensitive fields by hand: this module reads the descriptors. It
guarantees that no event carries a sensitive field and masks values for logs and history.
"""

from __future__ import annotations

import functools
from typing import cast

from erp.common.v1 import options_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

MASK = "****"


def is_sensitive(field: FieldDescriptor) -> bool:
    return bool(field.GetOptions().Extensions[options_pb2.sensitive])


@functools.cache
def sensitive_field_names(descriptor: Descriptor) -> frozenset[str]:
    """Names of the sensitive fields of a message type (not nested)."""
    return frozenset(f.name for f in descriptor.fields if is_sensitive(f))


def assert_no_sensitive_fields(message: Message) -> None:
    """An event type must not declare sensitive fields at any depth (checked once per type)."""
    # The stub also allows upb's Descriptor, which is what google.protobuf.descriptor.Descriptor is at runtime.
    _check_type(cast(Descriptor, message.DESCRIPTOR))


@functools.cache
def _check_type(descriptor: Descriptor) -> None:
    _check(descriptor, set())


def _check(descriptor: Descriptor, seen: set[str]) -> None:
    if descriptor.full_name in seen:
        return
    seen.add(descriptor.full_name)
    for f in descriptor.fields:
        if is_sensitive(f):
            raise ValueError(f"{descriptor.full_name}.{f.name} is sensitive and may not be in an event")
        if f.message_type is not None:
            _check(f.message_type, seen)


def mask(value: str | None) -> str | None:
    """Last four characters only, for display to callers allowed to know the value exists."""
    if not value:
        return value
    return MASK + value[-4:] if len(value) > 4 else MASK
