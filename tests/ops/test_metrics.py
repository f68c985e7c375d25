"""Metrics reflect a known workload: gRPC calls by method and code, GraphQL requests, the outbox
backlog rising while NATS is down and draining after it returns, consumer lag and dead letters."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import httpx
import pytest
from erp.employee.v1 import employee_service_pb2 as api
from erp.employee.v1 import employee_service_pb2_grpc as api_grpc
from erp.employee.v1 import events_pb2 as ev
from prometheus_client import REGISTRY

from gateway.app import create_app
from services.ops.embedded import EmbeddedNats, free_port
from services.runtime.consumer import EventConsumer
from services.runtime.events import dlq_subject
from services.runtime.jetstream import connect, ensure_streams
from services.runtime.relay import OutboxRelay
from services.runtime.settings import Settings, to_libpq_url
from tests.infra import Infra
from tests.runtime.helpers import eventually, scratch_database


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_grpc_calls_are_counted_by_method_and_code(employee_channel: grpc.aio.Channel) -> None:
    stub = api_grpc.EmployeeServiceStub(employee_channel)
    method = "erp.employee.v1.EmployeeService/CreateDepartment"
    labels = {"service": "employee", "method": method}
    ok, bad = (
        value("erp_grpc_requests_total", **labels, code="OK"),
        value("erp_grpc_requests_total", **labels, code="INVALID_ARGUMENT"),
    )
    timed = value("erp_grpc_request_duration_seconds_count", **labels)
    for _ in range(5):
        tag = uuid.uuid4().hex[:8]
        await stub.CreateDepartment(api.CreateDepartmentRequest(name=f"M {tag}", code=f"M{tag}"))
    for _ in range(2):
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.CreateDepartment(api.CreateDepartmentRequest(name="", code=""))
    assert value("erp_grpc_requests_total", **labels, code="OK") - ok == 5
    assert value("erp_grpc_requests_total", **labels, code="INVALID_ARGUMENT") - bad == 2
    assert value("erp_grpc_request_duration_seconds_count", **labels) - timed == 7


async def test_gateway_counts_graphql_requests_and_serves_metrics(settings: Settings) -> None:
    app = create_app(settings)
    before = value("erp_graphql_requests_total", method="POST", status="200")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        for _ in range(3):
            reply = await http.post("/graphql", json={"query": "{ __typename }"})
            assert reply.status_code == 200, reply.text
        metrics = await http.get("/metrics")
    assert value("erp_graphql_requests_total", method="POST", status="200") - before == 3
    assert metrics.status_code == 200
    assert "erp_graphql_request_duration_seconds_bucket" in metrics.text
    assert metrics.headers["content-type"].startswith("text/plain")


async def test_outbox_backlog_rises_while_nats_is_down_and_drains_after(infra: Infra, settings: Settings) -> None:
    server = EmbeddedNats(infra.tmp / "nats-metrics", free_port())
    server.start()
    db = await scratch_database(settings, "metrics_outbox")
    nc = await connect(server.url, "metrics-test")
    js = nc.jetstream()
    await ensure_streams(js, settings.subject_root)
    relay = OutboxRelay(db, js, to_libpq_url(db.engine.url.render_as_string(hide_password=False)))
    relay.publish_timeout_s, relay.backlog_every_s = 0.3, 0.1
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    backlog = lambda: value("erp_outbox_backlog", service="metrics_outbox")  # noqa: E731
    try:
        server.stop()
        for i in range(50):
            async with db.unit_of_work() as uow:
                agg = uuid.uuid4()
                uow.record(
                    ev.DepartmentCreated(department_id=str(agg), name=f"N{i}", code=f"N{i}"),
                    aggregate_type="Department",
                    aggregate_id=agg,
                )
        await eventually(lambda: _true(backlog() == 50), timeout_s=15)
        await eventually(lambda: _true(value("erp_outbox_oldest_unsent_seconds", service="metrics_outbox") > 0.2))
        server.start()
        await eventually(lambda: _true(backlog() == 0), timeout_s=30)
        assert value("erp_outbox_published_total", service="metrics_outbox") >= 50

        # The events are now in the stream: a consumer that has not read them lags by 50.
        consumer = EventConsumer(
            "metricslag", db, js, {"erp.employee.v1.DepartmentCreated": _noop}, subject_root=settings.subject_root
        )
        streams = await consumer.ensure_consumers()
        await js.publish(dlq_subject(settings.subject_root, "metricslag"), b"x", headers={"Nats-Msg-Id": "dlq-1"})
        await consumer.report_lag(streams)
        assert value("erp_consumer_pending", service="metricslag", stream=streams[0]) == 50
        assert value("erp_consumer_redelivered", service="metricslag", stream=streams[0]) == 0
        assert value("erp_dead_letters", service="metricslag") == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await nc.close()
        server.stop()
        await db.dispose()


async def _true(condition: bool) -> bool:
    return condition


async def _noop(*_: object) -> None:
    return None
