from __future__ import annotations

import io
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from contentgen.observability import (
    REDACTED,
    AttemptRecord,
    count_breaker_event,
    logger,
    record_attempt,
    redact,
    register_secret,
    tracing_enabled,
)
from tests.conftest import log_records


@pytest.mark.parametrize(
    ("environment", "enabled"),
    [
        ({}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
    ],
)
def test_tracing_follows_powertools_rule(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], enabled: bool
) -> None:
    for name in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert tracing_enabled() is enabled


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.strip().splitlines() if line.startswith("{")]


def test_a_provider_call_is_one_log_line_and_one_emf_blob_per_function_and_model(
    capsys: pytest.CaptureFixture[str], log_output: io.StringIO
) -> None:
    record_attempt(
        AttemptRecord(
            provider="OpenRouter",
            operation="chat.completions",
            model="primary/model",
            attempt=2,
            answered_by="fallback/model",
            latency_ms=12.5,
            prompt_tokens=100,
            completion_tokens=40,
            cost_usd=0.00012,
            prompt="p" * 1000,
            output="o" * 1000,
        )
    )

    (blob,) = _lines(capsys)
    (line,) = log_records(log_output)
    assert blob["model"] == "fallback/model"
    assert blob["PromptTokens"] == [100.0] or blob["PromptTokens"] == 100.0
    assert blob["ModelFallbacks"] in (1.0, [1.0])
    assert blob["ProviderRetries"] in (1.0, [1.0])
    metric_sets = blob["_aws"]["CloudWatchMetrics"][0]
    names = {metric["Name"] for metric in metric_sets["Metrics"]}
    assert {"ProviderRequests", "ProviderLatency", "CostUSD", "CompletionTokens", "ModelFallbacks"} <= names
    assert "ProviderErrors" not in names  # zero counters are not written
    assert sorted(map(sorted, metric_sets["Dimensions"])) == [["function", "model", "service"], ["service"]]

    assert line["message"] == "provider call"
    assert line["level"] == "INFO"
    assert (line["model"], line["answered_by"], line["attempt"]) == ("primary/model", "fallback/model", 2)
    assert line["cost_usd"] == 0.00012
    # Prompts and outputs are cut at INFO.
    assert line["prompt"].startswith("p" * 200)
    assert line["prompt"].endswith("[1000 chars]")
    assert len(line["output"]) < 250


def test_failed_calls_count_errors_by_class(
    capsys: pytest.CaptureFixture[str], log_output: io.StringIO
) -> None:
    record_attempt(
        AttemptRecord(
            provider="OpenRouter",
            operation="chat",
            model="m",
            attempt=1,
            outcome="rate_limited",
            http_status=429,
        )
    )

    (blob,) = _lines(capsys)
    (line,) = log_records(log_output)
    assert blob["ProviderErrors_rate_limited"] in (1.0, [1.0])
    assert line["level"] == "WARNING"
    assert line["http_status"] == 429


def test_prompts_are_logged_in_full_at_debug(log_output: io.StringIO) -> None:
    logger.setLevel("DEBUG")
    try:
        record_attempt(AttemptRecord(provider="P", operation="op", model="m", attempt=1, prompt="x" * 5000))
    finally:
        logger.setLevel("INFO")

    line = next(entry for entry in log_records(log_output) if entry.get("message") == "provider call")
    assert line["prompt"] == "x" * 5000


def test_secrets_are_redacted_from_every_line(log_output: io.StringIO) -> None:
    register_secret("my-registered-secret-value")

    logger.info("key %s", "my-registered-secret-value", extra={"header": "Bearer abcdefghijklmnop"})
    google_shaped = "AIza" + "Sy" + "x" * 33  # built here so no key-shaped literal is committed
    logger.info(f"url https://x.example/v1?key={google_shaped}&alt=json")
    try:
        raise ValueError("sk-or-v1-0123456789abcdef leaked into an exception")
    except ValueError:
        logger.exception("boom")

    output = log_output.getvalue()
    for secret in ("my-registered-secret-value", "abcdefghijklmnop", "AIzaSy", "sk-or-v1-0123"):
        assert secret not in output
    assert output.count(REDACTED) >= 4


def test_redaction_keeps_lines_valid_json() -> None:
    assert redact('{"a": "sk-or-v1-abcdefghijkl"}') == '{"a": "***"}'


class _YieldingStream(io.StringIO):
    """stdout that lets other threads run inside every write, as a pipe to the Lambda agent may."""

    def write(self, text: str) -> int:
        time.sleep(0)
        written = super().write(text)
        time.sleep(0)
        return written


def test_every_emf_line_parses_after_concurrent_fan_out(
    monkeypatch: pytest.MonkeyPatch, log_output: io.StringIO
) -> None:
    stream = _YieldingStream()
    monkeypatch.setattr(sys, "stdout", stream)
    threads, per_thread = 8, 50

    def fan_out(worker: int) -> None:
        for attempt in range(per_thread):
            record_attempt(AttemptRecord(provider="openrouter", operation="o", model=f"m{worker}", attempt=1))
            if attempt % 5 == 0:
                count_breaker_event(model=f"m{worker}", to_state="OPEN")

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(fan_out, range(threads)))

    lines = stream.getvalue().splitlines()
    blobs = [json.loads(line) for line in lines]  # a fused or split line fails here
    assert len(blobs) == threads * per_thread + threads * (per_thread // 5)
    assert sum(1 for blob in blobs if "ProviderRequests" in blob) == threads * per_thread
    assert {blob["model"] for blob in blobs} == {f"m{worker}" for worker in range(threads)}


def test_the_sampling_redraw_sets_the_level_only_when_it_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same draw and level as Powertools' own `refresh_sample_rate_calculation`; no `setLevel`
    (which clears every logger's cache) when the drawn level is the one already set."""
    import logging
    import random

    from aws_lambda_powertools import Logger

    from contentgen.observability import SampledLogger

    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    ours = SampledLogger(service="sampling-ours", sampling_rate=0.5)
    theirs = Logger(service="sampling-theirs", sampling_rate=0.5)
    levels = set()
    for seed in range(30):
        random.seed(seed)
        ours.refresh_sample_rate_calculation()
        random.seed(seed)
        theirs.refresh_sample_rate_calculation()
        assert ours._logger.level == theirs._logger.level
        levels.add(ours._logger.level)
    assert levels == {logging.DEBUG, logging.WARNING}  # both draws happened

    set_levels: list[int] = []
    monkeypatch.setattr(ours._logger, "setLevel", set_levels.append)
    ours._logger.level = logging.WARNING
    monkeypatch.setattr(random, "random", lambda: 0.9)  # not sampled: WARNING stays
    ours.refresh_sample_rate_calculation()
    assert set_levels == []


def test_a_provider_blob_is_the_line_powertools_writes_for_the_same_metrics(
    capsys: pytest.CaptureFixture[str], log_output: io.StringIO
) -> None:
    """The EMF line is written without Powertools' EphemeralMetrics (docs/benchmark.md, warm),
    and is the document it would write: same namespace, dimension sets, units and values."""
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    from contentgen.observability import NAMESPACE, SERVICE

    record_attempt(
        AttemptRecord(
            provider="openrouter",
            operation="chat.completions",
            model="m/one",
            attempt=2,
            latency_ms=12.5,
            prompt_tokens=100,
            completion_tokens=40,
            cost_usd=0.00012,
        )
    )
    (ours,) = _lines(capsys)

    theirs = EphemeralMetrics(namespace=NAMESPACE)
    theirs.add_dimension(name="service", value=SERVICE)
    theirs.add_dimension(name="function", value=ours["function"])
    theirs.add_dimension(name="model", value="m/one")
    theirs.add_dimensions(service=SERVICE)
    for name, unit, value in (
        ("ProviderRequests", MetricUnit.Count, 1),
        ("ProviderLatency", MetricUnit.Milliseconds, 12.5),
        ("ProviderRetries", MetricUnit.Count, 1),
        ("PromptTokens", MetricUnit.Count, 100),
        ("CompletionTokens", MetricUnit.Count, 40),
        ("CostUSD", MetricUnit.NoUnit, 0.00012),
    ):
        theirs.add_metric(name=name, unit=unit, value=value)
    expected = json.loads(json.dumps(theirs.serialize_metric_set()))

    assert abs(ours["_aws"].pop("Timestamp") - expected["_aws"].pop("Timestamp")) < 60_000
    assert ours == expected
    assert list(ours) == list(expected)  # same key order, as Powertools writes it


def test_metrics_disabled_writes_no_provider_blob(
    capsys: pytest.CaptureFixture[str], log_output: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    record_attempt(AttemptRecord(provider="openrouter", operation="o", model="m", attempt=1))
    assert _lines(capsys) == []
    assert [line["message"] for line in log_records(log_output)] == ["provider call"]


@pytest.mark.parametrize(
    "text",
    [
        "plain text without anything key-shaped",
        "token sk-or-v1-abcdefgh12345678 here",
        "header Bearer abcdefghijklmnop",
        "https://x.example/v1?alt=json&key=abcdefgh",
        "AIza" + "Sy" + "y" * 33,
    ],
)
def test_redaction_is_the_pattern_whether_or_not_a_marker_is_present(text: str) -> None:
    from contentgen.observability import _SECRET_PATTERNS

    assert redact(text) == _SECRET_PATTERNS.sub(REDACTED, text)


@pytest.mark.parametrize(
    "message",
    [
        "request served",
        '{"a": 1}',
        "  [1, 2]",
        "null",
        "nothing to parse",
        "",
        " 12",
        "true",
        "NaN",
        "{broken",
    ],
)
def test_messages_are_parsed_as_json_exactly_when_powertools_would(message: str) -> None:
    import logging

    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    from contentgen.observability import RedactingFormatter

    record = logging.LogRecord("contentgen", logging.INFO, __file__, 1, message, None, None)
    theirs = LambdaPowertoolsFormatter()._extract_log_message(record)
    assert RedactingFormatter()._extract_log_message(record) == theirs or (theirs != theirs)  # NaN


def test_a_provider_call_below_the_log_level_is_counted_but_not_logged(
    capsys: pytest.CaptureFixture[str], log_output: io.StringIO
) -> None:
    logger.setLevel("WARNING")
    try:
        record_attempt(AttemptRecord(provider="P", operation="op", model="m", attempt=1))
        record_attempt(AttemptRecord(provider="P", operation="op", model="m", attempt=1, outcome="timeout"))
    finally:
        logger.setLevel("INFO")

    assert [blob.get("ProviderErrors") for blob in _lines(capsys)] == [None, [1.0]]
    assert [(line["level"], line["outcome"]) for line in log_records(log_output)] == [("WARNING", "timeout")]
