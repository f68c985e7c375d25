"""Sensitive data, derived from the contracts' `(erp.common.v1.sensitive)` option.

Nobody keeps a list of sensitive fields by hand: this module reads the descriptors. It
guarantees that no event carries a sensitive field and masks values for logs and history:
`redact_text` masks `<name>: <value>`, `"<name>": "<value>"` and `<name>=<value>` for every
sensitive field name of every contract (the JSON log formatter applies it to each line). A
sensitive value logged without its field name cannot be recognised: never log request objects.
"""

from __future__ import annotations

import functools
import importlib
import logging
import pkgutil
import re
from collections.abc import Iterator
from types import ModuleType
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


# ---- logs ---------------------------------------------------------------------------------------


def contract_modules() -> list[ModuleType]:
    """Every generated `*_pb2` module of every service contract (imported on demand)."""
    import erp

    modules: list[ModuleType] = []
    for info in pkgutil.walk_packages(erp.__path__, "erp."):
        if info.name.endswith("_pb2"):
            modules.append(importlib.import_module(info.name))
    return modules


def _messages(descriptor: Descriptor) -> Iterator[Descriptor]:
    yield descriptor
    for nested in descriptor.nested_types:
        yield from _messages(nested)


@functools.cache
def all_sensitive_names() -> frozenset[str]:
    """Field names (proto and JSON spelling) declared sensitive anywhere in the contracts."""
    names: set[str] = set()
    for module in contract_modules():
        file = module.DESCRIPTOR
        for top in file.message_types_by_name.values():
            for message in _messages(top):
                for f in message.fields:
                    if is_sensitive(f):
                        names.update({f.name, f.json_name})
    return frozenset(names)


@functools.cache
def _log_pattern() -> re.Pattern[str]:
    keys = "|".join(sorted((re.escape(n) for n in all_sensitive_names()), key=len, reverse=True))
    # name = value | name: value | "name": "value" | 'name': 'value' (JSON, repr, text format, k=v)
    return re.compile(
        rf"""(?P<key>(?:{keys})\b["']?\s*[:=]\s*)"""
        r"""(?P<val>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,;)}\]&"']+)"""
    )


def _masked(match: re.Match[str]) -> str:
    value = match.group("val")
    quote = value[0] if value[:1] in ('"', "'") else ""
    return f"{match.group('key')}{quote}{MASK}{quote}"


def redact_text(text: str) -> str:
    """Mask the value of every `<sensitive name>: <value>` / `<name>=<value>` in a log line."""
    if not all_sensitive_names():
        return text
    return _log_pattern().sub(_masked, text)


class RedactingFilter(logging.Filter):
    """A logging filter that masks sensitive values in the message (arguments merged in first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
