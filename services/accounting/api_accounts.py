"""AccountingService, chart of accounts: get, batch get, list, create, update."""

from __future__ import annotations

import uuid
from typing import Any

from erp.accounting.v1 import accounting_service_pb2 as api
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from services.accounting import accounts, domain, mapping
from services.accounting.api_base import ApiBase, text_arg
from services.accounting.tables import Account
from services.runtime.convert import uuid_from_str, uuids_from_strs
from services.runtime.db import UnitOfWork, translate_integrity_error
from services.runtime.errors import AlreadyExists, InvalidArgument, Validator
from services.runtime.repository import batch_get, get_or_404, list_page

UNIQUE_MESSAGES = {"uq_chart_of_accounts_account_code": "an account with this code already exists"}
UPDATABLE_FIELDS = frozenset({"account_name", "parent_account_code", "is_active"})


class AccountsApi(ApiBase):
    async def GetAccount(self, request: api.GetAccountRequest, context_: Any) -> api.GetAccountResponse:
        key = uuid_from_str(request.id, "id")
        async with self.db.read() as s:
            row = await get_or_404(s, Account, key, "account")  # type: ignore[arg-type]
        return api.GetAccountResponse(account=mapping.account_to_pb(row))

    async def BatchGetAccounts(
        self, request: api.BatchGetAccountsRequest, context_: Any
    ) -> api.BatchGetAccountsResponse:
        keys = uuids_from_strs(list(request.ids), "ids")
        async with self.db.read() as s:
            rows = await batch_get(s, Account, keys)
        return api.BatchGetAccountsResponse(accounts=[mapping.account_to_pb(r) for r in rows])

    async def BatchGetAccountsByCode(
        self, request: api.BatchGetAccountsByCodeRequest, context_: Any
    ) -> api.BatchGetAccountsByCodeResponse:
        if len(request.account_codes) > 1000:
            raise InvalidArgument.field("account_codes", "at most 1000 codes per call")
        v = Validator()
        codes = [text_arg(v, code, "account_codes", 20) for code in request.account_codes]
        v.raise_if_any()
        async with self.db.read() as s:
            found = await accounts.by_codes(s, codes)
        return api.BatchGetAccountsByCodeResponse(accounts=[mapping.account_to_pb(found[c]) for c in sorted(found)])

    async def ListAccounts(self, request: api.ListAccountsRequest, context_: Any) -> api.ListAccountsResponse:
        v = Validator()
        v.check(
            all(t in mapping.ACCOUNT_TYPE_FROM_PB for t in request.account_types),
            "account_types",
            "contains an unknown account type",
        )
        parent = text_arg(v, request.parent_account_code, "parent_account_code", 20)
        query = text_arg(v, request.query, "query", 200).lower()
        v.raise_if_any()
        stmt = select(Account)
        if request.account_types:
            stmt = stmt.where(
                Account.account_type.in_([mapping.ACCOUNT_TYPE_FROM_PB[t] for t in request.account_types])
            )
        active = request.is_active if request.HasField("is_active") else None
        if active is not None:
            stmt = stmt.where(Account.is_active.is_(active))
        if parent:
            stmt = stmt.where(Account.parent_account_code == parent)
        if query:
            stmt = stmt.where(
                or_(
                    func.lower(Account.account_code).contains(query, autoescape=True),
                    func.lower(Account.account_name).contains(query, autoescape=True),
                )
            )
        filters = (sorted(request.account_types), active, parent, query)
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [Account.account_code],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=filters,
            )
        return api.ListAccountsResponse(
            accounts=[mapping.account_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def CreateAccount(self, request: api.CreateAccountRequest, context_: Any) -> api.CreateAccountResponse:
        v = Validator()
        values: dict[str, Any] = {
            "account_code": request.account_code,
            "account_name": request.account_name.strip(),
            "parent_account_code": request.parent_account_code or None,
        }
        domain.validate_account_fields(v, values)
        account_type = mapping.ACCOUNT_TYPE_FROM_PB.get(request.account_type)
        v.check(account_type is not None, "account_type", "is required")
        v.raise_if_any()
        assert account_type is not None
        now = self.clock.now()
        try:
            async with self.db.unit_of_work() as uow:
                if await accounts.by_code(uow.session, values["account_code"]) is not None:
                    raise AlreadyExists(UNIQUE_MESSAGES["uq_chart_of_accounts_account_code"])
                if values["parent_account_code"] is not None:
                    await self._check_parent(
                        uow, values["account_code"], account_type, values["parent_account_code"], ""
                    )
                row = Account(
                    id=uuid.uuid4(), account_type=account_type, is_active=True, created_at=now, updated_at=now, **values
                )
                uow.session.add(row)
                uow.record(mapping.account_created(row), aggregate_type="Account", aggregate_id=row.id)
        except IntegrityError as exc:
            raise translate_integrity_error(exc, UNIQUE_MESSAGES) from None
        return api.CreateAccountResponse(account=mapping.account_to_pb(row))

    async def UpdateAccount(self, request: api.UpdateAccountRequest, context_: Any) -> api.UpdateAccountResponse:
        paths = list(request.update_mask.paths)
        if not paths:
            raise InvalidArgument.field("update_mask", "must name at least one field")
        unknown = sorted(set(paths) - UPDATABLE_FIELDS)
        if unknown:
            raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}")
        a = request.account
        v = Validator()
        key = v.collect(lambda: uuid_from_str(a.id, "account.id"))
        parsers: dict[str, Any] = {
            "account_name": lambda: a.account_name.strip(),
            "parent_account_code": lambda: a.parent_account_code or None,
            "is_active": lambda: a.is_active,
        }
        values = {p: parsers[p]() for p in paths}
        domain.validate_account_fields(v, values, prefix="account.")
        v.raise_if_any()
        assert key is not None
        async with self.db.unit_of_work() as uow:
            row = await get_or_404(uow.session, Account, key, "account", lock=True)
            changed = [name for name, value in values.items() if getattr(row, name) != value]
            if "parent_account_code" in changed and values["parent_account_code"] is not None:
                await self._check_parent(
                    uow, row.account_code, row.account_type, values["parent_account_code"], "account."
                )
            if changed:
                for name in changed:
                    setattr(row, name, values[name])
                row.updated_at = self.clock.now()
                uow.record(mapping.account_updated(row, changed), aggregate_type="Account", aggregate_id=row.id)
        return api.UpdateAccountResponse(account=mapping.account_to_pb(row))

    async def _check_parent(self, uow: UnitOfWork, code: str, account_type: str, parent_code: str, prefix: str) -> None:
        field = f"{prefix}parent_account_code"
        parent = await accounts.by_code(uow.session, parent_code)
        if parent is None:
            raise InvalidArgument.field(field, f"account {parent_code} does not exist")
        above = await accounts.ancestors(uow.session, parent_code)
        domain.check_parent(code, account_type, parent.account_code, parent.account_type, above, field)
