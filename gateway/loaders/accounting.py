"""Loaders over the accounting service: accounts by id and by code, journal entries by id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from erp.accounting.v1 import accounting_pb2 as pb
from erp.accounting.v1 import accounting_service_pb2 as api
from strawberry.dataloader import DataLoader

from gateway.clients import Clients
from gateway.loaders.batch import by_key


@dataclass
class AccountingLoaders:
    clients: Clients
    accounts: DataLoader[str, pb.Account | None] = field(init=False)
    accounts_by_code: DataLoader[str, pb.Account | None] = field(init=False)
    journal_entries: DataLoader[str, pb.JournalEntry | None] = field(init=False)

    def __post_init__(self) -> None:
        self.accounts = by_key(self._accounts, lambda a: a.id)
        self.accounts_by_code = by_key(self._accounts_by_code, lambda a: a.account_code, uuid_keys=False)
        self.journal_entries = by_key(self._journal_entries, lambda e: e.id)

    async def _accounts(self, ids: list[str]) -> Sequence[pb.Account]:
        request = api.BatchGetAccountsRequest(ids=ids)
        return (await self.clients.accounting.call(lambda s: s.BatchGetAccounts(request))).accounts

    async def _accounts_by_code(self, codes: list[str]) -> Sequence[pb.Account]:
        request = api.BatchGetAccountsByCodeRequest(account_codes=codes)
        return (await self.clients.accounting.call(lambda s: s.BatchGetAccountsByCode(request))).accounts

    async def _journal_entries(self, ids: list[str]) -> Sequence[pb.JournalEntry]:
        """With their lines."""
        request = api.BatchGetJournalEntriesRequest(ids=ids)
        return (await self.clients.accounting.call(lambda s: s.BatchGetJournalEntries(request))).journal_entries
