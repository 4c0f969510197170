"""Powertools Logger, Metrics and Tracer shared by every function, plus provider-call metrics.

Creating these does no I/O. Prompts, model output and keys are never logged at INFO.

The Tracer is constructed only where tracing is on (in Lambda, unless disabled or emulated: the
same rule Powertools applies itself). Constructing it imports the X-Ray SDK and botocore, about
250 ms of cold start, which a process that cannot trace has no use for.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "contentgen")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "contentgen")

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])

# Provider calls flush their own EMF blob (per model); an invocation can leave the function's
# Metrics empty, which Powertools reports with a UserWarning on stderr. It is not an error here.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def tracing_enabled() -> bool:
    """Powertools' rule: trace in Lambda unless POWERTOOLS_TRACE_DISABLED or a local emulator."""
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in ("1", "true", "yes", "on"):
        return False
    emulated = os.environ.get("AWS_SAM_LOCAL") or os.environ.get("AWS_CHALICE_CLI_MODE")
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not emulated


def _build_tracer() -> Tracer | None:
    if not tracing_enabled():
        return None
    from aws_lambda_powertools import Tracer

    # Only botocore is patched: provider calls are traced through explicit subsegments.
    return Tracer(service=SERVICE, patch_modules=("botocore",))


tracer = _build_tracer()


def traced_handler(handler: HandlerT) -> HandlerT:
    """The Lambda handler under the Tracer (responses are not captured: they hold content)."""
    if tracer is None:
        return handler
    return cast(HandlerT, tracer.capture_lambda_handler(handler, capture_response=False))


@contextmanager
def provider_span(name: str, model: str) -> Iterator[None]:
    """An X-Ray subsegment around one provider call, annotated with the model."""
    if tracer is None:
        yield
        return
    with tracer.provider.in_subsegment(name) as subsegment:
        subsegment.put_annotation("model", model)
        yield


def record_provider_call(
    *,
    provider: str,
    model: str,
    latency_ms: float,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    cost_usd: float | None,
) -> None:
    """One EMF blob per successful provider call, dimensioned by provider and model."""
    call_metrics = EphemeralMetrics(namespace=NAMESPACE)
    call_metrics.add_dimension(name="service", value=SERVICE)
    call_metrics.add_dimension(name="provider", value=provider)
    call_metrics.add_dimension(name="model", value=model)
    call_metrics.add_metric(name="ProviderLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
    if prompt_tokens is not None:
        call_metrics.add_metric(name="PromptTokens", unit=MetricUnit.Count, value=prompt_tokens)
    if completion_tokens is not None:
        call_metrics.add_metric(name="CompletionTokens", unit=MetricUnit.Count, value=completion_tokens)
    if cost_usd is not None:
        call_metrics.add_metric(name="CostUSD", unit=MetricUnit.NoUnit, value=cost_usd)
    call_metrics.flush_metrics()


@dataclass
class CallRecord:
    """What a provider call reports about itself, filled in inside `provider_call`."""

    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


@contextmanager
def provider_call(*, provider: str, model: str, operation: str) -> Iterator[CallRecord]:
    """Trace, time and account for one provider call (retries included): one EMF blob, one log line.

    Only successful calls are recorded here; failures are counted by the retry policy.
    """
    record = CallRecord(model=model)
    started = time.perf_counter()
    with provider_span(f"## {provider} {operation}", model):
        yield record
    latency_ms = (time.perf_counter() - started) * 1000
    record_provider_call(
        provider=provider,
        model=record.model,
        latency_ms=latency_ms,
        prompt_tokens=record.prompt_tokens,
        completion_tokens=record.completion_tokens,
        cost_usd=record.cost_usd,
    )
    logger.info(
        "provider call",
        extra={
            "provider": provider,
            "operation": operation,
            "model": record.model,
            "latency_ms": round(latency_ms, 1),
            "prompt_tokens": record.prompt_tokens,
            "completion_tokens": record.completion_tokens,
            "cost_usd": record.cost_usd,
            **record.details,
        },
    )


def count_provider_failure(*, provider: str, kind: str) -> None:
    """Counted on the function's Metrics, flushed with the invocation's other metrics."""
    metrics.add_metric(name=f"ProviderFailure_{kind}", unit=MetricUnit.Count, value=1)
    metrics.add_metadata(key="provider", value=provider)
