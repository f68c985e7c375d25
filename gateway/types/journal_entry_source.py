"""The JournalEntrySource interface: what a journal entry was posted for."""

from __future__ import annotations

import strawberry


@strawberry.interface(
    description="The business object a journal entry was posted for (a payroll record, and later invoices,"
    " payments and purchase orders)."
)
class JournalEntrySource:
    id: strawberry.ID
