"""NATS connection and the JetStream streams: one per service, plus the dead-letter stream."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from services.runtime.events import dlq_stream_name, stream_name, stream_subjects
from services.runtime.settings import SERVICES

log = logging.getLogger(__name__)

DUPLICATE_WINDOW_S = 600.0


def inbox_prefix(user: str) -> str:
    """Where a principal's replies arrive (`_INBOX_<user>.>`): the only inbox its NATS
    permissions let it subscribe to, so no principal can read another's replies (nats_config.py)."""
    return f"_INBOX_{user}"


async def connect(url: str, name: str, *, credentials: tuple[str, str] | None = None) -> Client:
    """A connection that keeps reconnecting forever: the relay and consumers outlive outages.

    `url` may list several servers of a cluster, comma-separated. `credentials` (user, password)
    authenticate it (Settings.nats_credentials; credentials in the URL work too); an authenticated
    connection uses the inbox prefix of its user."""
    servers = [u.strip() for u in url.split(",") if u.strip()]
    user = (
        credentials[0] if credentials else next((urlsplit(s).username for s in servers if urlsplit(s).username), None)
    )
    options: dict[str, str] = {}
    if credentials:
        options = {"user": credentials[0], "password": credentials[1]}
    return await nats.connect(
        servers,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        allow_reconnect=True,
        inbox_prefix=inbox_prefix(user) if user else "_INBOX",
        **options,
    )


def _config(name: str, subjects: list[str], replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=name,
        subjects=subjects,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_S,
        num_replicas=replicas,
    )


async def ensure_streams(js: JetStreamContext, root: str, replicas: int = 1) -> None:
    """Create (or update) every service's stream and the DLQ stream; idempotent.

    `replicas` (ERP_STREAM_REPLICAS) is 3 on a three-node JetStream cluster."""
    configs = [_config(stream_name(root, s), [stream_subjects(root, s)], replicas) for s in SERVICES]
    configs.append(_config(dlq_stream_name(root), [f"{root}.dlq.>"], replicas))
    for config in configs:
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)
