"""W3C trace context with the OpenTelemetry API: one span per request, RPC and consumed event.

The call context (`context.CallContext.traceparent`) carries the current span's `traceparent`
across the process boundaries the code already crosses: gRPC metadata, outbox rows, NATS
headers. `span(...)` starts a child of a given traceparent and yields the traceparent to pass on.

Without a configured SDK (or with OTEL_SDK_DISABLED=true) spans are no-ops and the incoming
traceparent is passed on unchanged. `configure(service)` installs the SDK's TracerProvider (so the
gateway can start traces); exporters come only from the standard OTEL_* variables: none by
default, OTEL_TRACES_EXPORTER=console, or otlp when opentelemetry-exporter-otlp is installed
(OTEL_EXPORTER_OTLP_* then configure it). OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and
OTEL_TRACES_SAMPLER are read by the SDK itself.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import replace

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from services.runtime import context

log = logging.getLogger(__name__)

PROPAGATOR = TraceContextTextMapPropagator()
TRACER = trace.get_tracer("erp")
_configured = False

__all__ = ["SpanKind", "configure", "continued", "span", "trace_id_of"]


def configure(service_name: str, environ: Mapping[str, str] | None = None) -> None:
    """Install the SDK's tracer provider once per process, with the exporters OTEL_* name."""
    global _configured
    env = os.environ if environ is None else environ
    if _configured or env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return
    _configured = True
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    resource = Resource.create({} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: f"erp-{service_name}"})
    provider = TracerProvider(resource=resource)
    for name in filter(None, (n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "none").split(","))):
        exporter: SpanExporter | None = None
        if name == "console":
            exporter = ConsoleSpanExporter()
        elif name == "otlp":
            try:
                module = importlib.import_module("opentelemetry.exporter.otlp.proto.grpc.trace_exporter")
                exporter = module.OTLPSpanExporter()
            except ImportError:
                log.warning("OTEL_TRACES_EXPORTER=otlp needs the opentelemetry-exporter-otlp package; not exporting")
        elif name != "none":
            log.warning("unknown OTEL_TRACES_EXPORTER %r ignored", name)
        if exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


def _traceparent(span_context: trace.SpanContext) -> str | None:
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier, trace.set_span_in_context(trace.NonRecordingSpan(span_context)))
    return carrier.get("traceparent")


@contextlib.contextmanager
def span(
    name: str,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: str | None = None,
    attributes: Mapping[str, str] | None = None,
) -> Iterator[str | None]:
    """A span, child of `parent` (a traceparent) or of the current span, current for the block.

    Yields the traceparent to hand on: the new span's, or `parent` when spans are no-ops (no
    SDK installed: then nothing is parsed or started at all, a consumer applies thousands of
    events a second)."""
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        yield parent
        return
    ctx = PROPAGATOR.extract({"traceparent": parent}) if parent else None
    with TRACER.start_as_current_span(name, context=ctx, kind=kind, attributes=dict(attributes or {})) as current:
        span_context = current.get_span_context()
        yield (_traceparent(span_context) if span_context.is_valid else None) or parent


@contextlib.contextmanager
def continued(ctx: context.CallContext, name: str, kind: SpanKind) -> Iterator[context.CallContext]:
    """Bind `ctx` with its trace continued by a new span (an RPC served, an event consumed)."""
    with (
        span(name, kind, ctx.traceparent) as traceparent,
        context.bound(replace(ctx, traceparent=traceparent)) as bound,
    ):
        yield bound


def trace_id_of(traceparent: str | None) -> str | None:
    """`00-<trace id>-<span id>-<flags>` -> the trace id."""
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 else None
