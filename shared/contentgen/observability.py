"""Powertools Logger, Metrics and Tracer shared by every function, plus provider-call metrics.

Creating these does no I/O. Prompts, model output and keys are never logged at INFO.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "contentgen")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "contentgen")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# Only botocore is patched: the SDKs' HTTP stacks are traced through explicit subsegments.
tracer = Tracer(service=SERVICE, patch_modules=("botocore",))


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


def count_provider_failure(*, provider: str, kind: str) -> None:
    """Counted on the function's Metrics, flushed with the invocation's other metrics."""
    metrics.add_metric(name=f"ProviderFailure_{kind}", unit=MetricUnit.Count, value=1)
    metrics.add_metadata(key="provider", value=provider)
