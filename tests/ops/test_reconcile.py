"""After employee_db is restored to an earlier backup, `erp reconcile` finds the payroll records
pointing at employees that no longer exist and the payroll employee cache ahead of its owner,
and `--fix` puts the cache back in line with the owner."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import grpc
from erp.employee.v1 import employee_pb2 as emp
from erp.employee.v1 import employee_service_pb2 as emp_api
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc
from erp.payroll.v1 import payroll_service_pb2_grpc as pay_grpc
from google.protobuf.field_mask_pb2 import FieldMask
from nats.aio.client import Client

from services.ops import backup, pgtools
from services.ops.reconcile import CACHES, reconcile
from services.ops.refs import cross_service_references
from services.runtime.serve import load_definition
from services.runtime.service import start_service
from services.runtime.settings import Settings
from tests.employee.helpers import CALLER, IBAN, SSN, create_department, create_employee, dec
from tests.ops.helpers import connect, erp, private_system
from tests.payroll.helpers import create_tax_rate, day, run_payroll
from tests.runtime.helpers import eventually


def test_references_come_from_the_contracts() -> None:
    refs = {str(r) for r in cross_service_references()}
    assert "payroll_db.payroll_records.employee_id -> employee_db.employees.id" in refs
    assert "inventory_db.stock_reservations.customer_id -> billing_db.customers.id" in refs
    assert not any(r.service == r.target_service for r in cross_service_references())
    for cache in CACHES:  # every cache is keyed by a declared reference to its owner
        assert any(
            (r.service, r.table, r.column, r.target_service, r.target_table)
            == (cache.service, cache.table, cache.key, cache.owner, cache.owner_table)
            for r in cross_service_references()
        )


async def raise_salary(stub: emp_grpc.EmployeeServiceStub, e: emp.Employee) -> emp.Employee:
    request = emp_api.UpdateEmployeeRequest(
        employee=emp.Employee(id=e.id, salary=dec("99000.00")),
        update_mask=FieldMask(paths=["salary"]),
        version=e.version,
    )
    return (await stub.UpdateEmployee(request, metadata=CALLER)).employee


async def test_reconcile_after_restoring_one_service(settings: Settings, nats_client: Client, tmp_path: Path) -> None:
    async with private_system(settings, "rc", ["employee", "payroll"]) as own:
        employee = await start_service(load_definition("employee"), own)
        payroll = await start_service(load_definition("payroll"), own)
        channel = grpc.aio.insecure_channel(own.grpc_address("employee"))
        pchannel = grpc.aio.insecure_channel(own.grpc_address("payroll"))
        stub, pstub = emp_grpc.EmployeeServiceStub(channel), pay_grpc.PayrollServiceStub(pchannel)
        cache = await connect(own, "payroll")
        try:
            dept = await create_department(stub)
            early = [
                await create_employee(stub, department_id=dept.id, social_security_number=SSN, bank_account_number=IBAN)
                for _ in range(20)
            ]

            async def cached(n: int, version_sum: int) -> bool:
                row = await cache.fetchrow(
                    "SELECT count(*) AS n, coalesce(sum(employee_version), 0) AS v FROM employee_cache"
                )
                return bool(row["n"] == n and row["v"] == version_sum)

            await eventually(lambda: cached(20, 20))
            folder = await asyncio.to_thread(backup.backup, pgtools.targets(own, ["employee"]), tmp_path)

            late = [await create_employee(stub, department_id=dept.id) for _ in range(5)]
            for e in early[:3]:
                await raise_salary(stub, e)
            await eventually(lambda: cached(25, 28))
            await create_tax_rate(pstub, 2024, day(2024, 1, 1), day(2024, 12, 31))
            run = await run_payroll(pstub, day(2024, 1, 1), day(2024, 1, 31), "")
            assert run.payroll_run.employee_count == 25

            await employee.shutdown()  # an operator stops the service, then restores its database
            await asyncio.to_thread(
                backup.restore, folder, {"employee": pgtools.targets(own, ["employee"])[0]}, force=True
            )
            urls = {t.service: t.url for t in pgtools.targets(own, ["employee", "payroll"])}

            report = await reconcile(urls)
            dangling = {str(d.reference): d for d in report.dangling}
            records = dangling["payroll_db.payroll_records.employee_id -> employee_db.employees.id"]
            assert sorted(records.missing) == sorted(e.id for e in late)
            assert records.referring_rows == 5
            [drift] = report.caches
            assert sorted(drift.extra) == sorted(e.id for e in late)
            assert sorted(drift.ahead) == sorted(e.id for e in early[:3])
            assert drift.missing == drift.behind == []
            assert not report.consistent

            fixed = await reconcile(urls, fix=True)
            assert fixed.caches[0].rebuilt == 20
            again = await reconcile(urls)
            assert again.caches[0].clean
            assert [str(d.reference) for d in again.dangling] == [str(records.reference)]  # needs a person
            row = await cache.fetchrow(
                "SELECT salary, employee_version FROM employee_cache WHERE employee_id = $1", uuid.UUID(early[0].id)
            )
            assert (str(row["salary"]), row["employee_version"]) == ("50000.00", 1)

            cli = await asyncio.to_thread(erp, own, "reconcile", "--json")
            assert cli.returncode == 1, cli.stderr  # the dangling payroll records remain
            out = json.loads(cli.stdout)
            assert out["caches"][0]["cache"] == "payroll.employee_cache" and out["caches"][0]["extra"] == []
            assert len(out["dangling"]) == 1
        finally:
            await cache.close()
            await channel.close()
            await pchannel.close()
            await payroll.shutdown()
            if not employee.stop.is_set():
                await employee.shutdown()
