"""Tax rate sets: effective-dated, validated, never overlapping; a missing rate stops a run."""

from __future__ import annotations

import itertools

import asyncpg
from erp.payroll.v1 import payroll_service_pb2 as api

from tests.payroll.helpers import (
    RATES,
    Code,
    Stub,
    cache_employee,
    create_tax_rate,
    day,
    dec,
    rejected,
    run_payroll,
    tag,
)

# Years no other test uses, one per test that creates rates (ranges must never overlap).
_years = itertools.count(2200)
# The only open-ended set: nothing may start after it.
OPEN_ENDED_YEAR = 8999


async def test_create_get_and_list(stub: Stub) -> None:
    year = OPEN_ENDED_YEAR
    created = await create_tax_rate(stub, year, day(year, 1, 1), day(year, 6, 30), federal_rate="0.1200")
    second = await create_tax_rate(stub, year, day(year, 7, 1))  # open-ended
    assert created.federal_rate.value == "0.1200" and created.medicare_rate.value == "0.0145"
    assert not second.HasField("effective_to")
    got = (await stub.GetTaxRate(api.GetTaxRateRequest(id=created.id))).tax_rate
    assert got == created
    listed = await stub.ListTaxRates(api.ListTaxRatesRequest(year=year))
    assert [r.id for r in listed.tax_rates] == [second.id, created.id]  # newest first
    on = await stub.ListTaxRates(api.ListTaxRatesRequest(effective_on=day(year, 3, 15)))
    assert [r.id for r in on.tax_rates] == [created.id]


async def test_overlapping_ranges_are_rejected(stub: Stub, db: asyncpg.Connection) -> None:
    year = next(_years)
    existing = await create_tax_rate(stub, year, day(year, 1, 1), day(year, 12, 31))
    for start, end in [
        (day(year, 12, 31), day(year + 1, 6, 30)),  # shares the last day
        (day(year - 1, 1, 1), None),  # open-ended from before
        (day(year, 3, 1), day(year, 3, 31)),  # inside
    ]:
        err = await rejected(db, lambda s=start, e=end: create_tax_rate(stub, year, s, e), Code.FAILED_PRECONDITION)
        assert existing.id in (err.details() or "")
    # The day after is free.
    await create_tax_rate(stub, year + 1, day(year + 1, 1, 1), day(year + 1, 1, 31))
    next(_years)


async def test_bad_rates_are_invalid_and_write_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    year = next(_years)

    def create(**overrides: object) -> object:
        values: dict[str, object] = {
            "year": year,
            "effective_from": day(year, 1, 1),
            **{k: dec(v) for k, v in RATES.items()},
        }
        values.update(overrides)
        return stub.CreateTaxRate(api.CreateTaxRateRequest(**values))  # type: ignore[arg-type]

    await rejected(db, lambda: create(federal_rate=dec("1.2")), Code.INVALID_ARGUMENT, fields=("federal_rate",))
    await rejected(db, lambda: create(state_rate=dec("0.12345")), Code.INVALID_ARGUMENT, fields=("state_rate",))
    await rejected(db, lambda: create(medicare_rate=dec("abc")), Code.INVALID_ARGUMENT, fields=("medicare_rate",))
    await rejected(
        db,
        lambda: create(year=0, social_security_rate=dec(""), effective_from=day(0, 0, 0)),
        Code.INVALID_ARGUMENT,
        fields=("year", "social_security_rate", "effective_from"),
    )
    await rejected(
        db, lambda: create(effective_to=day(year - 1, 12, 31)), Code.INVALID_ARGUMENT, fields=("effective_to",)
    )
    await rejected(db, lambda: create(federal_rate=dec("0.9"), state_rate=dec("0.5")), Code.INVALID_ARGUMENT)


async def test_a_missing_tax_rate_stops_the_run_and_writes_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    department = f"NoTax {tag()}"
    await cache_employee(db, department)
    err = await rejected(
        db, lambda: run_payroll(stub, day(1990, 3, 1), day(1990, 3, 31), department), Code.FAILED_PRECONDITION
    )
    assert "1990-03-31" in (err.details() or "")


async def test_the_rate_in_force_on_the_period_end_is_used(stub: Stub, db: asyncpg.Connection) -> None:
    year = next(_years)
    await create_tax_rate(stub, year, day(year, 1, 1), day(year, 1, 20), federal_rate="0.1000")
    await create_tax_rate(stub, year, day(year, 1, 21), day(year, 12, 31), federal_rate="0.2000")
    department = f"RateSwitch {tag()}"
    await cache_employee(db, department, salary="60000.00")
    run = (await run_payroll(stub, day(year, 1, 1), day(year, 1, 31), department)).payroll_run
    assert run.total_gross.value == "5000.00"
    assert run.total_federal_tax.value == "1000.00"


async def test_unknown_tax_rate_is_not_found(stub: Stub) -> None:
    from tests.payroll.helpers import rpc_error

    await rpc_error(stub.GetTaxRate(api.GetTaxRateRequest(id="6f1c1c2e-0000-4000-8000-000000000000")), Code.NOT_FOUND)
    await rpc_error(stub.GetTaxRate(api.GetTaxRateRequest(id="nope")), Code.INVALID_ARGUMENT)
