"""The employee service's encrypted columns: social security and bank account numbers.

`employees.social_security_number` and `employees.bank_account_number` hold AES-256-GCM ciphertext
(`v1:<key id>:<base64>`, services/runtime/crypto.py) bound to the employee's id and the column.
Values are encrypted on every write and decrypted only where they are shown: in full for
EMPLOYEE_VIEW_SENSITIVE, else as a mask of the last four characters (`****6789`).
"""

from __future__ import annotations

import logging
import uuid

from services.employee.tables import Employee
from services.runtime.crypto import Binding, DecryptionError, KeyRing
from services.runtime.redaction import MASK, mask

log = logging.getLogger(__name__)

TABLE = "employees"
ENCRYPTED_COLUMNS: tuple[str, ...] = ("social_security_number", "bank_account_number")


class Unreadable:
    """Stands for a stored value that could not be decrypted (compares unequal to every value)."""

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "<unreadable>"


UNREADABLE = Unreadable()


def binding(row_id: uuid.UUID, column: str) -> Binding:
    return Binding(TABLE, column, row_id)


class EmployeeSecrets:
    """Encrypts and decrypts the sensitive columns of one employee row at a time."""

    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring

    def seal(self, row_id: uuid.UUID, column: str, value: str | None) -> str | None:
        """The stored form of a value (None and "" stay NULL)."""
        return self.keyring.encrypt(value, binding(row_id, column)) if value else None

    def reveal(self, row: Employee, column: str) -> str | None:
        """The plaintext of a stored value; DecryptionError when it cannot be decrypted here."""
        stored: str | None = getattr(row, column)
        return self.keyring.reveal(stored, binding(row.id, column)) if stored else None

    def masked(self, row: Employee, column: str) -> str | None:
        """The last four characters behind `****`; an undecryptable value is logged and shown as `****`
        (the basic view never depends on the value, so one damaged row does not fail a whole list)."""
        try:
            return mask(self.reveal(row, column))
        except DecryptionError as exc:
            log.error("%s; showing %s in the basic view", exc, MASK)
            return MASK

    def current(self, row: Employee, column: str) -> str | Unreadable | None:
        """The plaintext for comparing with a new value (audit diffs); UNREADABLE when it cannot be
        decrypted, so writing a new value replaces (repairs) it."""
        try:
            return self.reveal(row, column)
        except DecryptionError as exc:
            log.error("%s; the value is being replaced", exc)
            return UNREADABLE
