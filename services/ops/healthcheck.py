"""Container health checks: `python -m services.ops.healthcheck grpc 127.0.0.1:50051` asks the
standard gRPC health service; `... http http://127.0.0.1:8000/healthz` expects a 200. Exit 0 when
healthy, 1 otherwise (what compose's `healthcheck.test` wants)."""

from __future__ import annotations

import sys
import urllib.request

import grpc
from grpc_health.v1 import health_pb2


def grpc_ok(address: str, timeout_s: float = 2.0) -> bool:
    with grpc.insecure_channel(address) as channel:
        try:
            check = channel.unary_unary(
                "/grpc.health.v1.Health/Check",
                request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                response_deserializer=health_pb2.HealthCheckResponse.FromString,
            )
            reply = check(health_pb2.HealthCheckRequest(), timeout=timeout_s)
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def http_ok(url: str, timeout_s: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ("grpc", "http"):
        print("usage: python -m services.ops.healthcheck grpc HOST:PORT | http URL", file=sys.stderr)
        return 2
    kind, where = args
    return 0 if (grpc_ok(where) if kind == "grpc" else http_ok(where)) else 1


if __name__ == "__main__":
    sys.exit(main())
