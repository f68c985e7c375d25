"""Subscriptions with authentication required: a token in the WebSocket upgrade's Authorization
header or in `connection_init` (browsers cannot set headers), scopes checked per operation before
anything is subscribed; without a token, or without the scope, the operation is refused."""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

from erp.employee.v1 import employee_service_pb2_grpc as api_grpc

from gateway.auth.devkey import issue_token
from gateway.auth.tokens import AuthConfig
from gateway.config import GatewayConfig
from services.runtime.settings import Settings
from tests.gateway.live import WsClient, hub_of, wait_for
from tests.gateway.support import new_department, new_employee, tag
from tests.gateway.test_subscriptions import EMPLOYEE_SUBJECTS, live

CHANGED = "subscription($d: ID) { employeeChanged(departmentId: $d) { change employeeId } }"


async def refusal(ws: WsClient) -> str:
    message = await ws.receive()
    assert message["type"] == "error", message
    code: str = message["payload"][0]["extensions"]["code"]
    return code


async def test_subscriptions_take_a_token_in_the_upgrade_or_in_connection_init(
    employee_root_settings: Settings, stub: api_grpc.EmployeeServiceStub
) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="erp-ws-auth-"))
    config = replace(GatewayConfig(), auth=AuthConfig(mode="required", data_dir=data_dir))
    hr = issue_token(data_dir, uuid.uuid4(), ["hr"])
    warehouse = issue_token(data_dir, uuid.uuid4(), ["warehouse"])  # no employee:read
    department = await new_department(stub, f"Ws {tag()}")
    async with live(employee_root_settings, config) as (app, base_url):
        hub = hub_of(app)
        subjects = [hub.subject(s) for s in EMPLOYEE_SUBJECTS]
        async with WsClient.open(base_url) as anonymous:
            await anonymous.subscribe(CHANGED, {"d": department.id})
            assert await refusal(anonymous) == "UNAUTHENTICATED"
        async with WsClient.open(base_url, init_payload={"Authorization": f"Bearer {warehouse}"}) as other_role:
            await other_role.subscribe(CHANGED, {"d": department.id})
            assert await refusal(other_role) == "FORBIDDEN"
        bad = WsClient.open(base_url, init_payload={"Authorization": "Bearer not-a-token"})
        async with bad as forged:
            await forged.subscribe(CHANGED, {"d": department.id})
            assert await refusal(forged) == "UNAUTHENTICATED"
        assert all(hub.subscriber_count(s) == 0 for s in subjects)  # nothing was subscribed

        by_init = WsClient.open(base_url, init_payload={"authorization": f"Bearer {hr}"})
        by_header = WsClient.open(base_url, headers={"Authorization": f"Bearer {hr}"})
        async with by_init as a, by_header as b:
            await a.subscribe(CHANGED, {"d": department.id})
            await b.subscribe(CHANGED, {"d": department.id})
            await wait_for(lambda: all(hub.subscriber_count(s) == 2 for s in subjects), what="two subscribers")
            hired = await new_employee(stub, f"ws-{tag()}@example.com", department.id)
            expected = {"change": "CREATED", "employeeId": hired.id}
            assert (await a.next())["data"]["employeeChanged"] == expected
            assert (await b.next())["data"]["employeeChanged"] == expected
