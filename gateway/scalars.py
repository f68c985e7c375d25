"""Custom scalars. Money and other exact decimals travel as strings, never as floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import strawberry
from graphql import IntValueNode, StringValueNode, ValueNode
from strawberry.exceptions import StrawberryInputCoercionError

EXPECTED = 'Decimal values are strings such as "1234.50"'


def parse_decimal(value: object) -> Decimal:
    """A string (or an integer) to an exact Decimal; a float is refused, it may already be rounded."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise StrawberryInputCoercionError(f"{EXPECTED}, not {type(value).__name__} values")
    try:
        parsed = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise StrawberryInputCoercionError(f"{value!r} is not a decimal number; {EXPECTED}") from None
    if not parsed.is_finite():
        raise StrawberryInputCoercionError(f"{value!r} is not a finite number")
    return parsed


def parse_decimal_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> Decimal:
    if isinstance(node, (StringValueNode, IntValueNode)):
        return parse_decimal(node.value)
    raise StrawberryInputCoercionError(EXPECTED)


def serialize_decimal(value: Decimal) -> str:
    """Plain notation ("100.00", never "1E+2")."""
    return format(value, "f")


DecimalScalar = strawberry.scalar(
    name="Decimal",
    description='An exact decimal number written as a string, e.g. "1234.50" (money is never a float).',
    serialize=serialize_decimal,
    parse_value=parse_decimal,
    parse_literal=parse_decimal_literal,
)

SCALAR_OVERRIDES: dict[object, Any] = {Decimal: DecimalScalar}
