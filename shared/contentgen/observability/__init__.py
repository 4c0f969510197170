"""Powertools Logger and Tracer shared by every function, and the EMF metrics (one writer).

Creating these does no I/O. Keys are never logged; prompts and model output are cut to
`LOG_TEXT_CHARS` below DEBUG (`clip`).

The Tracer is constructed only where tracing is on (in Lambda, unless disabled or emulated: the
same rule Powertools applies itself). Constructing it imports the X-Ray SDK and botocore, about
250 ms of cold start, which a process that cannot trace has no use for.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import random
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import (
    RESERVED_LOG_ATTRS,
    LambdaPowertoolsFormatter,
    _get_context,
)
from aws_lambda_powertools.metrics import MetricUnit

# Loaded with `MetricUnit` already: imported here once rather than at every blob.
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.metrics.provider import cold_start

from contentgen.config import get_settings
from contentgen.observability.log_pins import pin_sdk_loggers

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "contentgen")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "contentgen")

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])

# No SDK or transport logger writes below WARNING, whatever the root level (keys in bodies).
pin_sdk_loggers()

# What every `LogRecord` gathers and no line here writes: the thread, the process, the
# multiprocessing process name and the asyncio task. Python's logging HOWTO, "Optimization"
# (https://docs.python.org/3/howto/logging.html#optimization, read 2026-12-07) documents these
# switches for it. Powertools' JSON line has none of these fields: the first three are in its
# `RESERVED_LOG_ATTRS` (never written unless a format names them, and none here does), and a
# `taskName` of None is stripped like every None. The asyncio lookup is the dear one: with asyncio
# imported (the SDKs import it) and no running loop, `asyncio.current_task()` raises a
# `RuntimeError` that `LogRecord.__init__` catches, for every line. Together about 10 µs a line.
logging.logThreads = False
logging.logProcesses = False
logging.logMultiprocessing = False
if sys.version_info >= (3, 12):
    logging.logAsyncioTasks = False

# Key shapes redacted even before a key is registered (OpenRouter, Google, bearer tokens, ?key=).
_SECRET_PATTERNS = re.compile(
    r"sk-or-[A-Za-z0-9_-]{8,}|AIza[0-9A-Za-z_-]{20,}|(?<=Bearer )[A-Za-z0-9._~+/=-]{8,}|(?<=[?&]key=)[^&\s\"']+"
)
_secrets_lock = threading.Lock()
_secret_values: frozenset[str] = frozenset()
REDACTED = "***"


def register_secret(value: str) -> None:
    """Every log line from now on has `value` replaced by ***."""
    global _secret_values
    if len(value) >= 6:
        with _secrets_lock:
            _secret_values = _secret_values | {value}


# Every match of `_SECRET_PATTERNS` contains one of these: a line without any of them is left as
# it is without running the pattern over it (the pattern is tried at every position of the line,
# about 50 µs per KB; these `in` checks, about 1 µs).
_SECRET_MARKERS = ("sk-or-", "AIza", "Bearer ", "key=")


def redact(text: str) -> str:
    """`text` with every registered secret and every key-shaped string replaced by ***."""
    for value in _secret_values:
        if value in text:
            text = text.replace(value, REDACTED)
    for marker in _SECRET_MARKERS:
        if marker in text:
            return _SECRET_PATTERNS.sub(REDACTED, text)
    return text


# What `json.loads` can parse starts with one of these (after whitespace): a JSON object, array,
# string, number, true/false/null, or Python's NaN/Infinity.
_JSON_STARTS = frozenset('{["-0123456789tfnNI')


_RESERVED_LOG_ATTRS = frozenset(RESERVED_LOG_ATTRS)


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON lines with API keys removed, whatever logged them (exceptions included).

    Two of Powertools' per-line steps are done here the same way for less (a log line is about
    a third of a warm request's own time, docs/benchmark.md "Sixth round"): the record's keys are
    told from the reserved ones through a set, not Powertools' tuple of 24 names (scanned for
    each of a record's ~40 attributes), the timestamp's text is made once per second, and the
    JSON encoder is made once.
    The line is the same (`tests/unit/observability/test_log_format.py` compares them)."""

    def __init__(
        self, json_serializer: Callable[[Any], str] | None = None, *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(json_serializer, *args, **kwargs)
        if json_serializer is None:
            # Powertools' default serializer, `partial(json.dumps, default=..., separators=...,
            # indent=..., ensure_ascii=False)`, with its encoder made once, not at every line.
            self.json_serializer = json.JSONEncoder(
                default=self.json_default, separators=(",", ":"), indent=self.json_indent, ensure_ascii=False
            ).encode

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def _extract_log_keys(self, log_record: logging.LogRecord) -> dict[str, Any]:
        """Powertools' `_extract_log_keys` (3.x): the formatter's keys, then the context's, each
        reserved one with a `%(...)s` value formatted from the record, then the record's extras."""
        record_dict = log_record.__dict__.copy()
        record_dict["asctime"] = self.formatTime(record=log_record)
        formatted: dict[str, Any] = {}
        for keys in (self.log_format, _get_context().get()):
            for key, value in keys.items():
                if value and key in _RESERVED_LOG_ATTRS:
                    if not isinstance(value, str):
                        return super()._extract_log_keys(log_record)  # Powertools raises its ValueError
                    formatted[key] = value % record_dict
                else:
                    formatted[key] = value
        for key, value in record_dict.items():
            if key not in _RESERVED_LOG_ATTRS:
                formatted[key] = value
        return formatted

    # (the whole second and the local time zone it was made in, text before the ms, text after)
    _second: tuple[tuple[int, int, int, tuple[str, str]], str, str] | None = None

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """Powertools' default timestamp, `2026-12-07 15:20:01,123+0000`, its text outside the
        milliseconds made once per second; any other format (`datefmt`, RFC 3339, datetime
        directives) is Powertools' own."""
        if datefmt is not None or self.datefmt is not None or self.use_rfc3339_iso8601:
            return super().formatTime(record, datefmt)
        # `time.tzset()` (a TZ changed while running) moves these, and the text with them.
        second = (int(record.created), time.timezone, time.altzone, time.tzname)
        cached = self._second
        if cached is None or cached[0] != second:
            before, _, after = self.default_time_format.partition(self.custom_ms_time_directive)
            stamp = self.converter(record.created)
            cached = (second, time.strftime(before, stamp), time.strftime(after, stamp))
            self._second = cached
        return f"{cached[1]}{int(record.msecs):03d}{cached[2]}"

    def _extract_log_message(self, log_record: logging.LogRecord) -> Any:
        """Powertools' message, without its attempt to parse a plain-text message as JSON (a
        raised and caught `JSONDecodeError` per line): a message that cannot start a JSON value
        is the message itself, as Powertools would have returned it."""
        message = log_record.msg
        if isinstance(message, str) and not log_record.args and message.lstrip()[:1] not in _JSON_STARTS:
            return message
        return super()._extract_log_message(log_record)


class SampledLogger(Logger):
    """Powertools' Logger whose per-invocation sampling draw calls `setLevel` only when the level changes.

    Powertools re-draws DEBUG sampling on every warm invocation (`refresh_sample_rate_calculation`,
    from `inject_lambda_context`) by `setLevel(initial)` and, when drawn, `setLevel(DEBUG)`; each
    `logging.Logger.setLevel` clears the level cache of every logger in the process
    (`logging.Manager._clear_cache`): 10 µs of CPU per invocation with the function's 95 loggers,
    2 to 4 µs here, and milliseconds in a process holding many more loggers (docs/benchmark.md,
    warm). Same draw, same resulting level.
    """

    def refresh_sample_rate_calculation(self) -> None:
        initial: int | str = self.initial_log_level
        # Powertools keeps a name ("WARNING") or a number; the logger's level is a number.
        level = logging.getLevelName(initial.upper()) if isinstance(initial, str) else initial
        if self.sampling_rate:
            try:
                if random.random() <= float(self.sampling_rate):
                    level = logging.DEBUG
            except ValueError:
                super().refresh_sample_rate_calculation()  # Powertools raises its own error
                return
        if self._logger.level != level:
            self._logger.setLevel(level)

    def writes(self, level: int) -> bool:
        """Whether a line at `level` is written now (the invocation's level, sampling included), so
        a caller can skip building the fields of a line that would be dropped. With log buffering
        configured (not done here) a dropped line would be kept in the buffer: always True then."""
        return bool(self._buffer_config) or self._logger.isEnabledFor(level)


# DEBUG is sampled: POWERTOOLS_LOGGER_SAMPLE_RATE (set in template.yaml) turns on DEBUG for that
# share of invocations; Powertools re-draws it per invocation in `inject_lambda_context`.
logger = SampledLogger(service=SERVICE, logger_formatter=RedactingFormatter())


def tracing_enabled() -> bool:
    """Powertools' rule: trace in Lambda unless POWERTOOLS_TRACE_DISABLED or a local emulator."""
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in ("1", "true", "yes", "on"):
        return False
    emulated = os.environ.get("AWS_SAM_LOCAL") or os.environ.get("AWS_CHALICE_CLI_MODE")
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not emulated


def _build_tracer() -> Tracer | None:
    if not tracing_enabled():
        return None
    # Cold start: this Powertools utility loads on the path that uses it, not at import.
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


@contextmanager
def aws_span(service: str, operation: str, aws: dict[str, Any]) -> Iterator[None]:
    """An X-Ray subsegment around one AWS request sent without botocore (whose requests the
    Tracer's botocore patch traces): named after the service, annotated with the operation, the
    request's `aws` details (`region`, `table_name`...) as metadata."""
    if tracer is None:
        yield
        return
    with tracer.provider.in_subsegment(service) as subsegment:
        subsegment.put_annotation("operation", operation)
        subsegment.put_metadata("aws", {"operation": operation, **aws})
        yield


def _function_name() -> str:
    """The Lambda function (its name in AWS, its logical id locally), for the metrics' dimension."""
    name = logger.get_current_keys().get("function_name") or os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    return str(name or SERVICE)


# EMF blobs, written here rather than through Powertools' `Metrics` / `EphemeralMetrics`, whose
# per-metric validation (name, unit and resolution lookups), debug f-strings and
# `serialize_metric_set` cost more than the line itself (docs/benchmark.md, warm), whose flush
# writes a line in two `print` writes (see `write_metrics`), and whose metric set is a shared dict
# of lists that fan-out threads would update unguarded. Each line is the one Powertools writes for
# the same metrics (tests compare them): EMF specification,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
# A provider request's blob: dimensioned by function and model, rolled up by service alone (alarms).
_DIMENSION_SETS = [["service", "function", "model"], ["service"]]


class MetricBlob:
    """The metrics of one EMF line: count and unit per name, the dimensions' values, and the
    dimension sets CloudWatch aggregates them by; written by `write_metrics`."""

    __slots__ = ("dimension_sets", "dimensions", "metric_set")

    def __init__(self, dimensions: dict[str, str], dimension_sets: list[list[str]]) -> None:
        self.dimensions = dimensions
        self.dimension_sets = dimension_sets
        # name -> (unit, values), in the order added
        self.metric_set: dict[str, tuple[str, list[float]]] = {}

    def add_metric(self, name: str, unit: MetricUnit | str, value: float) -> int:
        """Add `value` of `name` (a CloudWatch unit: `MetricUnit` or its text; the last given is
        the one written, as in Powertools); the number of values `name` now has."""
        entry = self.metric_set.get(name)
        values = entry[1] if entry is not None else []
        values.append(float(value))
        self.metric_set[name] = (unit.value if isinstance(unit, MetricUnit) else str(unit), values)
        return len(values)

    def serialize_metric_set(self) -> dict[str, Any]:
        """The EMF document: `_aws` metadata, the dimensions' values, each metric's values."""
        document: dict[str, Any] = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": NAMESPACE,
                        "Dimensions": self.dimension_sets,
                        "Metrics": [
                            {"Name": name, "Unit": unit} for name, (unit, _) in self.metric_set.items()
                        ],
                    }
                ],
            },
            **self.dimensions,
        }
        for name, (_, values) in self.metric_set.items():
            document[name] = values
        return document


def _call_metrics(model: str, function: str) -> MetricBlob:
    """An EMF blob dimensioned by function and model, also rolled up by service alone (alarms)."""
    return MetricBlob({"service": SERVICE, "function": function, "model": model}, _DIMENSION_SETS)


_emf_lock = threading.Lock()
# `json.dumps(..., separators=(",", ":"))` with its encoder made once: the same text.
_emf_encode = json.JSONEncoder(separators=(",", ":")).encode

# Powertools' `is_metrics_disabled()` answer for the last values of its two variables seen: it
# parses both on every call (about 5 µs a blob); the variables are read each time, so a change
# still counts at once.
_metrics_switched: tuple[tuple[str | None, str | None] | None, bool] = (None, False)


def _metrics_disabled() -> bool:
    """Powertools' `is_metrics_disabled()` (POWERTOOLS_METRICS_DISABLED, POWERTOOLS_DEV)."""
    global _metrics_switched
    values = (os.environ.get("POWERTOOLS_DEV"), os.environ.get("POWERTOOLS_METRICS_DISABLED"))
    known = _metrics_switched
    if known[0] != values:
        known = (values, is_metrics_disabled())
        _metrics_switched = known
    return known[1]


def write_metrics(blob: MetricBlob) -> None:
    """Write `blob` as ONE EMF line to stdout: the single writer of every EMF line.

    Powertools' `flush_metrics` uses `print()`, which writes the JSON and the newline in two calls;
    from fan-out threads those writes interleave and fuse lines that CloudWatch then drops. Here the
    whole line is one `write` under one lock (EMF spec: one JSON object per line,
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
    Nothing is written when metrics are disabled (POWERTOOLS_METRICS_DISABLED) or the blob is empty.
    """
    if not blob.metric_set or _metrics_disabled():
        return
    line = _emf_encode(blob.serialize_metric_set()) + "\n"
    with _emf_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


_SERVICE_DIMENSIONS = [["service"]]
# An EMF directive holds at most 100 metrics and a metric at most 100 values; past either,
# CloudWatch ignores the whole line (EMF specification,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html,
# read 2026-12-07; powertools-lambda-typescript #1529). Powertools' MAX_METRICS is the same 100.
MAX_EMF_METRICS = 100


def _invocation_blob() -> MetricBlob:
    """An empty line of the function's own metrics, by service (as Powertools' `Metrics`)."""
    return MetricBlob({"service": SERVICE}, _SERVICE_DIMENSIONS)


class InvocationMetrics:
    """The function's own metrics of an invocation (`Requests`, `SpendLedgerErrors`, ...), by
    service, as Powertools' `Metrics` wrote them: added from any thread of the invocation (its
    fan-out) under a lock, and written as ONE EMF line when the handler decorated by `log_metrics`
    ends, returned or raised; nothing when none was added. With `capture_cold_start_metric`, the
    container's first invocation that returns also writes `ColdStart` by function name and service
    (Powertools' own cold-start flag, so its SnapStart handling holds). Every line goes through
    `write_metrics`, like the provider blobs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blob = _invocation_blob()

    def add_metric(self, name: str, unit: MetricUnit | str, value: float) -> None:
        """Add `value` of `name` to this invocation's line (a CloudWatch unit from `MetricUnit`).
        A line holds at most `MAX_EMF_METRICS` metrics and values per metric (the EMF limits,
        past which CloudWatch drops the whole line): reaching either writes it and starts the
        next, as Powertools does."""
        with self._lock:
            count = self._blob.add_metric(name, unit, value)
            full = count >= MAX_EMF_METRICS or len(self._blob.metric_set) >= MAX_EMF_METRICS
            if full:
                blob, self._blob = self._blob, _invocation_blob()
        if full:
            write_metrics(blob)

    def clear_metrics(self) -> None:
        """Forget what this invocation added (nothing is written)."""
        with self._lock:
            self._blob = _invocation_blob()

    def flush_metrics(self) -> None:
        """Write what was added as one EMF line, and start a new set."""
        with self._lock:
            blob, self._blob = self._blob, _invocation_blob()
        write_metrics(blob)

    @overload
    def log_metrics(self, handler: HandlerT, *, capture_cold_start_metric: bool = False) -> HandlerT: ...

    @overload
    def log_metrics(
        self, handler: None = None, *, capture_cold_start_metric: bool = False
    ) -> Callable[[HandlerT], HandlerT]: ...

    def log_metrics(
        self, handler: HandlerT | None = None, *, capture_cold_start_metric: bool = False
    ) -> HandlerT | Callable[[HandlerT], HandlerT]:
        """Decorate a Lambda handler (`@metrics.log_metrics` or `@metrics.log_metrics(...)`):
        the invocation's metrics written when it ends, `ColdStart` after a cold one returns."""
        if handler is None:

            def decorator(function: HandlerT) -> HandlerT:
                return self.log_metrics(function, capture_cold_start_metric=capture_cold_start_metric)

            return decorator
        wrapped = handler

        @functools.wraps(wrapped)
        def decorate(event: Any, context: Any) -> Any:
            try:
                response = wrapped(event, context)
                if capture_cold_start_metric:
                    _cold_start_metric(context)
            finally:
                self.flush_metrics()
            return response

        return cast(HandlerT, decorate)


def _cold_start_metric(context: Any) -> None:
    """`ColdStart` by function name and service, once per container, as Powertools writes it."""
    if not cold_start.is_cold_start:
        return
    cold_start.is_cold_start = False
    # Powertools' order (`resolve_cold_start_function_name`): POWERTOOLS_METRICS_FUNCTION_NAME, then
    # the context's (a durable execution's: its Lambda context's); a context without one (a local
    # runner's) never fails the invocation over a metric.
    context = getattr(context, "lambda_context", context)
    name = (
        os.environ.get("POWERTOOLS_METRICS_FUNCTION_NAME")
        or getattr(context, "function_name", None)
        or os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        or SERVICE
    )
    blob = MetricBlob({"function_name": str(name), "service": SERVICE}, [["function_name", "service"]])
    blob.add_metric("ColdStart", MetricUnit.Count, 1)
    write_metrics(blob)


def clip(text: str | None) -> str | None:
    """Prompts and outputs: in full at DEBUG, cut to LOG_TEXT_CHARS otherwise."""
    if text is None or logger.log_level <= logging.DEBUG:
        return text
    limit = get_settings().log_text_chars
    return text if len(text) <= limit else f"{text[:limit]}… [{len(text)} chars]"


@dataclass
class AttemptRecord:
    """One request to a provider: what was asked, how it went, what it cost."""

    provider: str
    operation: str
    model: str
    attempt: int
    outcome: str = "ok"  # "ok", a failure kind, or "circuit_open"
    http_status: int | None = None
    latency_ms: float = 0.0
    queued_ms: float = 0.0
    answered_by: str | None = None
    fallback_from: str | None = None
    breaker: str = "closed"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    response_id: str | None = None
    prompt: str | None = None
    output: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # What was found wrong in a reply that was accepted anyway (soft limits: `contentgen.generation.
    # structured`), by metric name (SoftLimitTrimmed: strings cut, SoftProblems: e.g. duplicate idea
    # titles): each counted in the request's EMF blob, and its line is then a WARNING.
    reply_problems: dict[str, int] = field(default_factory=dict)


def record_attempt(entry: AttemptRecord, *, invocation_cost: Decimal | None = None) -> None:
    """The one log line and the one EMF blob of a provider request; `invocation_cost` is the
    invocation's running cost in USD after it (`contentgen.billing.meter`), logged when known."""
    model = entry.answered_by or entry.model
    function = _function_name()
    blob = _call_metrics(model, function)
    blob.add_metric(name="ProviderRequests", unit=MetricUnit.Count, value=1)
    blob.add_metric(name="ProviderLatency", unit=MetricUnit.Milliseconds, value=entry.latency_ms)
    if entry.attempt > 1:
        blob.add_metric(name="ProviderRetries", unit=MetricUnit.Count, value=1)
    if entry.outcome == "ok":
        # Counters are written only when non-zero (alarms FILL the gaps with 0).
        if entry.fallback_from is not None or model != entry.model:
            blob.add_metric(name="ModelFallbacks", unit=MetricUnit.Count, value=1)
        for name, value in (
            ("PromptTokens", entry.prompt_tokens),
            ("CompletionTokens", entry.completion_tokens),
            ("CostUSD", entry.cost_usd),
        ):
            if value is not None:
                blob.add_metric(
                    name=name, unit=MetricUnit.Count if name != "CostUSD" else MetricUnit.NoUnit, value=value
                )
        for name, count in entry.reply_problems.items():
            if count:
                blob.add_metric(name=name, unit=MetricUnit.Count, value=count)
    else:
        blob.add_metric(name="ProviderErrors", unit=MetricUnit.Count, value=1)
        blob.add_metric(name=f"ProviderErrors_{entry.outcome}", unit=MetricUnit.Count, value=1)
    write_metrics(blob)
    ok = entry.outcome == "ok"
    plain = ok and not any(entry.reply_problems.values())
    if not logger.writes(logging.INFO if plain else logging.WARNING):
        return  # e.g. LOG_LEVEL WARNING: the line's fields are not built for nothing
    fields: dict[str, Any] = {
        "function": function,
        "provider": entry.provider,
        "operation": entry.operation,
        "model": entry.model,
        "answered_by": model if entry.outcome == "ok" else None,
        "attempt": entry.attempt,
        "outcome": entry.outcome,
        "http_status": entry.http_status,
        "latency_ms": round(entry.latency_ms, 1),
        "queued_ms": round(entry.queued_ms, 1),
        "prompt_tokens": entry.prompt_tokens,
        "completion_tokens": entry.completion_tokens,
        "cost_usd": entry.cost_usd,
        "invocation_cost_usd": float(invocation_cost) if invocation_cost is not None else None,
        "response_id": entry.response_id,
        "fallback_from": entry.fallback_from,
        "breaker": entry.breaker,
        "prompt": clip(entry.prompt),
        "output": clip(entry.output),
        **entry.details,
    }
    log = logger.info if plain else logger.warning
    log("provider call", extra={key: value for key, value in fields.items() if value is not None})


def count_breaker_event(*, model: str, to_state: str) -> None:
    """A breaker transition: BreakerOpened, BreakerHalfOpened or BreakerClosed."""
    name = {"OPEN": "BreakerOpened", "HALF_OPEN": "BreakerHalfOpened", "CLOSED": "BreakerClosed"}[to_state]
    blob = _call_metrics(model, _function_name())
    blob.add_metric(name=name, unit=MetricUnit.Count, value=1)
    write_metrics(blob)


def count_model_unavailable(*, model: str) -> None:
    """A request that met a model the provider no longer serves (`ModelUnavailable`, by model and
    rolled up by service for the alarm): the request that found it gone, and each request after it
    that skipped it because this container remembers it gone (so the alarm stays in ALARM while
    the configuration names a gone model and requests are served by a fallback)."""
    blob = _call_metrics(model, _function_name())
    blob.add_metric(name="ModelUnavailable", unit=MetricUnit.Count, value=1)
    write_metrics(blob)


# The functions' own metrics (`InvocationMetrics`): one EMF line per invocation.
metrics = InvocationMetrics()
