"""OpenTelemetry traces: one trace per article, from ``wiredesk replay`` through every stage.

Off by default: ``WIREDESK_TRACING=true`` turns it on in every process that reads the
environment (the services and ``wiredesk replay``). Spans go to an OTLP/HTTP collector
(``OTEL_EXPORTER_OTLP_ENDPOINT``, the standard variable; ``pip install 'wiredesk[tracing]'``),
or with ``WIREDESK_TRACING_EXPORTER=console`` to stderr. Nothing is imported from OpenTelemetry
while tracing is off, so the services need no tracing packages.

How the context travels: each stream entry may carry a ``traceparent`` field (W3C Trace
Context, next to ``schema`` and ``data``). FastStream's telemetry middleware cannot do this
here: it propagates context in FastStream's own message envelope when FastStream publishes,
but wiredesk's outputs are written by its own Lua commit scripts (``wiredesk.streaming``,
``services.dedupe.state``) so that output and ack are atomic. So:

- the replayer starts a root span per article and writes its ``traceparent`` into the entry;
- :meth:`StageRunner.process <wiredesk.service.StageRunner.process>` opens, for each entry
  of a batch, a span that is a child of the entry's ``traceparent`` (:func:`stage_spans`), and
  publishes the new spans' contexts through a context variable;
- the stages add ``traceparent`` to each output of that entry (:func:`outgoing`, through
  :func:`wiredesk.streaming.traced`) before the commit scripts add the entries.

A consumer can continue the trace from ``articles:unique`` or ``articles:annotated`` the same
way. Entries without the field (producers that do not trace) start a new trace at ingest.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

log = logging.getLogger(__name__)

TRACEPARENT = b"traceparent"
"""The stream entry field that carries the W3C ``traceparent`` header value."""

SERVICE_NAMESPACE = "wiredesk"


class TracingSettings(BaseSettings):
    """``WIREDESK_TRACING`` (off by default) and ``WIREDESK_TRACING_EXPORTER``."""

    model_config = SettingsConfigDict(env_prefix="WIREDESK_", extra="ignore")

    tracing: bool = Field(default=False, description="emit OpenTelemetry spans")
    tracing_exporter: Literal["otlp", "console"] = Field(
        default="otlp",
        description="otlp: OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT; console: JSON on stderr",
    )


@dataclass
class _State:
    tracer: Tracer | None = None
    provider: TracerProvider | None = None
    configured: bool = False


_STATE = _State()

_OUTGOING: contextvars.ContextVar[Mapping[str, bytes] | None] = contextvars.ContextVar(
    "wiredesk_outgoing_traceparents", default=None
)


def configure(
    service: str,
    *,
    exporter: SpanExporter | None = None,
    settings: TracingSettings | None = None,
) -> bool:
    """Set up this process's tracer for ``service``; returns whether tracing is on.

    ``exporter`` (tests: the SDK's ``InMemorySpanExporter``) turns tracing on regardless of
    the settings and exports each span as it ends. Called again, it replaces the tracer.
    """
    settings = settings or TracingSettings()
    _STATE.configured = True
    if exporter is None and not settings.tracing:
        _STATE.tracer = None
        return False
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "WIREDESK_TRACING=true needs OpenTelemetry: pip install 'wiredesk[tracing]'"
        ) from exc
    resource = Resource.create(
        {"service.name": f"wiredesk-{service}", "service.namespace": SERVICE_NAMESPACE}
    )
    provider = TracerProvider(resource=resource)
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        provider.add_span_processor(BatchSpanProcessor(_exporter(settings)))
    if _STATE.provider is not None:
        _STATE.provider.shutdown()
    _STATE.provider = provider
    _STATE.tracer = provider.get_tracer("wiredesk")
    return True


def _exporter(settings: TracingSettings) -> SpanExporter:
    if settings.tracing_exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "the OTLP exporter is not installed: pip install 'wiredesk[tracing]', "
            "or set WIREDESK_TRACING_EXPORTER=console"
        ) from exc
    otlp: SpanExporter = OTLPSpanExporter()
    return otlp


def tracer(service: str) -> Tracer | None:
    """The process's tracer, configured from the environment on first use; None when off."""
    if not _STATE.configured:
        configure(service)
    return _STATE.tracer


def shutdown() -> None:
    """Flush and stop (the SDK also does this at exit)."""
    if _STATE.provider is not None:
        _STATE.provider.shutdown()
    _STATE.provider, _STATE.tracer, _STATE.configured = None, None, False


def _carrier(fields: Mapping[bytes, bytes]) -> dict[str, str]:
    value = fields.get(TRACEPARENT)
    return {"traceparent": value.decode("ascii", "replace")} if value else {}


def _traceparent() -> bytes:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent", "").encode("ascii")


def traced_publish(fields: dict[bytes, bytes], *, article_id: str, source: str) -> None:
    """Start and end the replayer's root span for one article; its context goes into
    ``fields`` (the entry about to be added to ``articles:raw``). No-op when tracing is off."""
    active = tracer("replay")
    if active is None:
        return
    with active.start_as_current_span(
        "replay publish",
        kind=_kind("PRODUCER"),
        attributes={"wiredesk.article_id": article_id, "wiredesk.source": source},
    ):
        fields[TRACEPARENT] = _traceparent()


@contextlib.contextmanager
def stage_spans(stage: str, stream: str, entries: Sequence[Any]) -> Iterator[None]:
    """One span per entry of a batch, child of the entry's ``traceparent``, for the block.

    Inside the block :func:`outgoing` gives each entry's new context, which the commit writes
    into that entry's outputs. A raised exception marks every span as failed.
    """
    active = tracer(stage)
    if active is None or not entries:
        yield
        return
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    propagator = TraceContextTextMapPropagator()
    spans = []
    outgoing: dict[str, bytes] = {}
    for entry in entries:
        parent = propagator.extract(_carrier(entry.fields))
        span = active.start_span(
            f"{stage} process",
            context=parent,
            kind=_kind("CONSUMER"),
            attributes={
                "messaging.system": "redis",
                "messaging.destination.name": stream,
                "messaging.message.id": entry.id,
                "wiredesk.deliveries": entry.deliveries,
            },
        )
        spans.append(span)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            outgoing[entry.id] = _traceparent()
        finally:
            otel_context.detach(token)
    reset = _OUTGOING.set(outgoing)
    try:
        yield
    except BaseException as exc:
        for span in spans:
            span.record_exception(exc)
            span.set_status(trace.Status(trace.StatusCode.ERROR, repr(exc)[:200]))
        raise
    finally:
        _OUTGOING.reset(reset)
        for span in spans:
            span.end()


def outgoing(entry_id: str) -> bytes:
    """The ``traceparent`` for the outputs of input ``entry_id``; empty when not traced."""
    current = _OUTGOING.get()
    return b"" if current is None else current.get(entry_id, b"")


def _kind(name: str) -> Any:
    from opentelemetry.trace import SpanKind

    return SpanKind[name]
