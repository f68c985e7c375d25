"""Structured JSON logs: one object per line with the service, the correlation id and the trace.

Every line passes through `redaction.redact_text`, so a `<sensitive field>: <value>` or
`<field>=<value>` that slipped into a message or an exception is masked before it is written.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from services.runtime import context
from services.runtime.redaction import redact_text


def trace_id(traceparent: str | None) -> str | None:
    """The trace id of a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`)."""
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        ctx = context.current()
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": redact_text(record.getMessage()),
        }
        if ctx.correlation_id:
            entry["correlation_id"] = str(ctx.correlation_id)
        if ctx.traceparent:
            entry["traceparent"] = ctx.traceparent
            entry["trace_id"] = trace_id(ctx.traceparent) or ""
        if record.exc_info:
            entry["exception"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(entry)


def configure_logging(level: str, service: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("nats").setLevel(logging.WARNING)
