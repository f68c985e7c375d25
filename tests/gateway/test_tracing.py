"""W3C trace context: from the HTTP request through gRPC metadata, the outbox row and the NATS
headers, into the work of a consumer."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import select

from services.runtime import context
from services.runtime.consumer import EventConsumer
from services.runtime.db import UnitOfWork
from services.runtime.events import H_SUBJECT, H_TRACEPARENT, ReceivedEvent, stream_name
from services.runtime.service import RunningService
from services.runtime.settings import Settings
from services.runtime.tables import OUTBOX
from services.runtime.tracing import trace_id_of
from tests.gateway.support import tag

CREATE = "mutation($i: CreateEmployeeInput!) { createEmployee(input: $i) { id } }"
INCOMING = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def hire() -> dict[str, Any]:
    return {
        "firstName": "Tracy",
        "lastName": "Trace",
        "email": f"trace-{tag()}@example.com",
        "jobTitle": "Analyst",
        "salary": "1.00",
        "hireDate": "2020-01-01",
    }


async def outbox_traceparent(employee_service: RunningService, employee_id: str) -> str:
    async with employee_service.deps.db.read() as session:
        headers = (
            await session.execute(select(OUTBOX.c.headers).where(OUTBOX.c.aggregate_id == employee_id))
        ).scalar_one()
    value: str = headers[H_TRACEPARENT]
    return value


async def test_the_trace_reaches_the_outbox_nats_and_a_consumer(
    gateway_client: httpx.AsyncClient, employee_service: RunningService, nats_client: Client, settings: Settings
) -> None:
    js = nats_client.jetstream()
    stream = stream_name(settings.subject_root, "employee")
    subject = f"{settings.subject_root}.employee.EmployeeCreated"
    probe = f"gwtrace{uuid.uuid4().hex[:8]}"
    await js.add_consumer(
        stream,
        ConsumerConfig(
            durable_name=probe,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.NEW,
            filter_subject=subject,
            inactive_threshold=60.0,
        ),
    )
    sub = await js.pull_subscribe_bind(probe, stream)
    try:
        response = await gateway_client.post(
            "/graphql", json={"query": CREATE, "variables": {"i": hire()}}, headers={"traceparent": INCOMING}
        )
        employee_id = response.json()["data"]["createEmployee"]["id"]
        assert trace_id_of(response.headers["traceresponse"]) == trace_id_of(INCOMING)
        assert trace_id_of(await outbox_traceparent(employee_service, employee_id)) == trace_id_of(INCOMING)

        message = None
        for _ in range(10):
            try:
                fetched = await sub.fetch(10, timeout=2)
            except TimeoutError:
                continue
            for msg in fetched:
                if (msg.headers or {}).get(H_SUBJECT) == employee_id:
                    message = msg
                else:
                    await msg.ack()
            if message is not None:
                break
        assert message is not None, "the EmployeeCreated event never reached NATS"
        assert trace_id_of((message.headers or {})[H_TRACEPARENT]) == trace_id_of(INCOMING)

        seen: list[str | None] = []

        async def handler(uow: UnitOfWork, event: ReceivedEvent) -> None:
            seen.append(context.current().traceparent)

        consumer = EventConsumer(
            probe,
            employee_service.deps.db,
            js,
            {"erp.employee.v1.EmployeeCreated": handler},
            subject_root=settings.subject_root,
        )
        await consumer.handle(message)  # the runtime's consumer path: decode, bind, apply, ack
    finally:
        await sub.unsubscribe()
        await js.delete_consumer(stream, probe)

    [traceparent] = seen
    assert trace_id_of(traceparent) == trace_id_of(INCOMING)  # the consumer's work continues the trace


async def test_the_gateway_starts_a_trace_when_none_arrives(
    gateway_client: httpx.AsyncClient, employee_service: RunningService
) -> None:
    response = await gateway_client.post("/graphql", json={"query": CREATE, "variables": {"i": hire()}})
    employee_id = response.json()["data"]["createEmployee"]["id"]

    started = trace_id_of(response.headers["traceresponse"])
    assert started and started != "0" * 32
    assert trace_id_of(await outbox_traceparent(employee_service, employee_id)) == started
