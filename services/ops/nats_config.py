"""NATS server configuration with one user per service, the gateway and an operator (`admin`).

Each service may publish only its own events (`<root>.<service>.>`), its dead letters
(`<root>.dlq.<service>`) and the JetStream API requests the runtime makes: create/update the
streams, create, read and pull from its own durable consumers (named after the service) on the
streams of the services it consumes, and ack what it pulled. It subscribes only to its own inbox
(`_INBOX_<service>.>`, where JetStream answers and pulled messages arrive) and to the subjects of
the services it consumes (taken from the handlers its definition declares). Stream deletion, purge
and message deletion are the operator's.

The gateway only reads events: it subscribes to the services' event subjects and its inbox, and
may create the ephemeral ordered consumers of its GraphQL subscriptions (never one named after a
service: it cannot touch their durable consumers); it publishes no event.

`admin` (operator tools, `erp up`'s stream set-up, tests) is unrestricted.

Users live in the global account (`$G`), where JetStream keeps its streams whether or not the
server runs with this configuration, so turning security on keeps the existing event history.
Passwords are written in clear into a file only the owner may read (the server needs them; bcrypt
hashes would need the bcrypt package). `erp nats-config` writes the file and a matching
`ERP_<PRINCIPAL>_NATS_PASSWORD` environment file for servers `erp up` does not start.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from services.runtime.events import dlq_stream_name, dlq_subject, service_of, stream_name
from services.runtime.jetstream import inbox_prefix
from services.runtime.settings import NATS_PRINCIPALS, SERVICES, Settings

GATEWAY = "gateway"
ADMIN = "admin"


@dataclass(frozen=True)
class Permissions:
    publish_allow: tuple[str, ...]
    subscribe_allow: tuple[str, ...]
    publish_deny: tuple[str, ...] = ()

    def as_config(self) -> dict[str, Any]:
        publish: dict[str, list[str]] = {"allow": list(self.publish_allow)}
        if self.publish_deny:
            publish["deny"] = list(self.publish_deny)
        return {"publish": publish, "subscribe": {"allow": list(self.subscribe_allow)}}


def consumed_sources(service: str) -> list[str]:
    """The services whose events `service` handles (from its definition's handlers)."""
    from services.runtime.clock import SystemClock
    from services.runtime.db import Database
    from services.runtime.serve import load_definition
    from services.runtime.service import ServiceDeps

    # Building the handler table uses no database (it is used when an event is handled).
    deps = ServiceDeps(service, Settings(), cast(Database, None), SystemClock())
    handlers = load_definition(service).handlers(deps)
    return sorted({service_of(event_type) for event_type in handlers})


def _all_streams(root: str) -> list[str]:
    return [*(stream_name(root, s) for s in SERVICES), dlq_stream_name(root)]


def service_permissions(root: str, service: str, sources: Sequence[str]) -> Permissions:
    """What one service's user may do (see the module docstring)."""
    publish = [f"{root}.{service}.>", dlq_subject(root, service), "$JS.API.INFO"]
    for stream in _all_streams(root):  # every service ensures every stream at start-up
        publish += [f"$JS.API.STREAM.CREATE.{stream}", f"$JS.API.STREAM.UPDATE.{stream}"]
    publish += [
        f"$JS.API.STREAM.INFO.{stream}" for stream in dict.fromkeys([stream_name(root, service), dlq_stream_name(root)])
    ]
    subscribe = [f"{inbox_prefix(service)}.>"]
    for source in sources:
        stream = stream_name(root, source)
        publish += [
            f"$JS.API.STREAM.INFO.{stream}",
            f"$JS.API.CONSUMER.CREATE.{stream}.{service}",
            f"$JS.API.CONSUMER.CREATE.{stream}.{service}.>",
            f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.{service}",
            f"$JS.API.CONSUMER.INFO.{stream}.{service}",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{service}",
            f"$JS.ACK.{stream}.{service}.>",  # ack, nak (redelivery with backoff), in progress
            f"$JS.ACK.*.*.{stream}.{service}.>",  # the same, in the domain-qualified reply format
        ]
        subscribe.append(f"{root}.{source}.>")
    return Permissions(tuple(dict.fromkeys(publish)), tuple(subscribe))


def gateway_permissions(root: str) -> Permissions:
    """Read-only on events: subscriptions through ephemeral ordered consumers, nothing published."""
    durable_names = [f"$JS.API.CONSUMER.CREATE.*.{s}" for s in SERVICES]
    durable_names += [f"$JS.API.CONSUMER.CREATE.*.{s}.>" for s in SERVICES]
    return Permissions(
        publish_allow=(
            "$JS.API.INFO",
            "$JS.API.STREAM.NAMES",
            *(f"$JS.API.STREAM.INFO.{stream_name(root, s)}" for s in SERVICES),
            *(f"$JS.API.CONSUMER.CREATE.{stream_name(root, s)}" for s in SERVICES),  # unnamed: ephemeral only
            *(f"$JS.API.CONSUMER.CREATE.{stream_name(root, s)}.>" for s in SERVICES),
            *(f"$JS.API.CONSUMER.INFO.{stream_name(root, s)}.*" for s in SERVICES),
            "$JS.FC.>",  # flow-control replies of ordered consumers
        ),
        subscribe_allow=(f"{inbox_prefix(GATEWAY)}.>", *(f"{root}.{s}.>" for s in SERVICES)),
        publish_deny=tuple(durable_names),
    )


def permissions(root: str, sources: Mapping[str, Sequence[str]] | None = None) -> dict[str, Permissions | None]:
    """Every principal's permissions (None: unrestricted). `sources`: consumed services per
    service (default: read from the service definitions)."""
    table: dict[str, Permissions | None] = {}
    for service in SERVICES:
        consumed = sources[service] if sources is not None else consumed_sources(service)
        table[service] = service_permissions(root, service, consumed)
    table[GATEWAY] = gateway_permissions(root)
    table[ADMIN] = None
    return table


def generate_passwords(principals: Iterable[str] = NATS_PRINCIPALS) -> dict[str, str]:
    """A fresh random password per principal (URL-safe, so it may also go into a nats:// URL)."""
    return {p: secrets.token_urlsafe(24) for p in principals}


def render(root: str, passwords: Mapping[str, str], sources: Mapping[str, Sequence[str]] | None = None) -> str:
    """The server configuration (NATS accepts JSON-style maps; strings are quoted, so `$JS...`
    subjects are not taken for variables)."""
    table = permissions(root, sources)
    missing = sorted(set(table) - set(passwords))
    if missing:
        raise ValueError(f"no password for {', '.join(missing)}")
    users = []
    for principal, perms in table.items():
        user: dict[str, Any] = {"user": principal, "password": passwords[principal]}
        if perms is not None:
            user["permissions"] = perms.as_config()
        users.append(user)
    header = f"# Generated by services/ops/nats_config.py for subject root {root!r}: one user per principal.\n"
    return header + "authorization " + json.dumps({"users": users}, indent=2) + "\n"


def write_config(
    path: Path, root: str, passwords: Mapping[str, str], sources: Mapping[str, Sequence[str]] | None = None
) -> Path:
    """Write the configuration readable by its owner only; returns `path`."""
    _write_private(path, render(root, passwords, sources))
    return path


def credentials_env(passwords: Mapping[str, str]) -> str:
    """`ERP_<PRINCIPAL>_NATS_PASSWORD=...` lines (give each process only its own line)."""
    return "".join(f"ERP_{p.upper()}_NATS_PASSWORD={pw}\n" for p, pw in passwords.items())


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    path.chmod(0o600)


def cmd_nats_config(ns: argparse.Namespace) -> int:
    settings = Settings.from_env()
    out = Path(ns.out) if ns.out else settings.data_dir / "nats" / "nats-server.conf"
    passwords = generate_passwords()
    write_config(out, settings.subject_root, passwords)
    env_file = out.with_name(out.stem + ".env")
    _write_private(env_file, credentials_env(passwords))
    print(f"NATS configuration written to {out} (include it, or start nats-server -c {out})")
    print(f"passwords written to {env_file}: give each process only its ERP_<PRINCIPAL>_NATS_PASSWORD")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("nats-config", help="NATS users and permissions per service, gateway and admin")
    p.add_argument("--out", help="configuration file (default <data dir>/nats/nats-server.conf)")
    p.set_defaults(func=cmd_nats_config)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="erp")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args()
    sys.exit(args.func(args))
