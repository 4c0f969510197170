"""Faults injected through the emulator, observed over the wire: fallback models, circuit breakers
(per container and shared through DynamoDB), 429 storms, timeouts, connection reuse, secrets."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest

from contentgen.catalog import default_chain
from contentgen.core import breaker
from contentgen.core.breaker import reset_breakers
from local.template import physical_name
from tests.conftest import log_records
from tests.integration.conftest import Invoke, Stack

pytestmark = pytest.mark.integration

STORY = "StorySegmentsFunction"
SETS = "StorySegmentsInSetsFunction"
THUMBNAIL = "GenerateThumbnailFunction"
PRIMARY, *_TEXT_FALLBACKS = default_chain("text")
FALLBACKS = ",".join(_TEXT_FALLBACKS)
FIRST_FALLBACK = _TEXT_FALLBACKS[0]
IMAGE_PRIMARY, IMAGE_FALLBACK = default_chain("image")[:2]


def emf(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]


def provider_calls(log_output: io.StringIO) -> list[dict[str, Any]]:
    return [record for record in log_records(log_output) if record["message"] == "provider call"]


def chat_requests(stack: Stack) -> list[dict[str, Any]]:
    return [request for request in stack.provider.requests() if request["target"] == "openai"]


def clear_faults(stack: Stack) -> None:
    stack.provider.reset()
    stack.provider.configure(api_key=stack.key, google_api_key=stack.google_key)


def test_a_dead_primary_is_answered_by_openrouters_fallback_and_named(
    stack: Stack,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    log_output: io.StringIO,
) -> None:
    monkeypatch.setenv("TEXT_FALLBACK_MODELS", FALLBACKS)
    stack.provider.configure(dead_models={PRIMARY: 503})

    status, answer = invoke(STORY, {"prompt": "A lighthouse keeper finds a map", "segment_count": 3})

    assert status == 200, answer
    assert answer["model"] == FIRST_FALLBACK
    (request,) = chat_requests(stack)  # OpenRouter fell back on its side: one request
    assert request["body"]["model"] == PRIMARY
    assert request["body"]["models"] == [PRIMARY, *_TEXT_FALLBACKS]
    (blob,) = [b for b in emf(capsys.readouterr().out) if "ProviderRequests" in b]
    assert blob["model"] == FIRST_FALLBACK
    assert blob["ModelFallbacks"] == [1.0]
    (call,) = provider_calls(log_output)
    assert (call["model"], call["answered_by"]) == (PRIMARY, FIRST_FALLBACK)


def test_a_dead_primary_image_model_falls_back_client_side(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, log_output: io.StringIO
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("IMAGE_MODEL", IMAGE_PRIMARY)
    monkeypatch.setenv("IMAGE_FALLBACK_MODELS", IMAGE_FALLBACK)
    stack.provider.configure(dead_models={IMAGE_PRIMARY: 500})

    status, answer = invoke(THUMBNAIL, {"prompt": "A fox in a lighthouse"})

    assert status == 200, answer
    assert answer["model"] == IMAGE_FALLBACK
    paths = [request["path"] for request in stack.provider.requests()]
    assert [path.rsplit("/", 1)[-1] for path in paths] == [
        f"{IMAGE_PRIMARY}:generateContent",
        f"{IMAGE_PRIMARY}:generateContent",
        f"{IMAGE_PRIMARY}:generateContent",
        f"{IMAGE_FALLBACK}:generateContent",
    ]
    calls = provider_calls(log_output)
    assert calls[-1]["fallback_from"] == IMAGE_PRIMARY
    assert any(record["message"] == "model fallback" for record in log_records(log_output))


def test_a_5xx_burst_opens_the_breaker_which_fails_fast_and_recovers_after_the_cooldown(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, log_output: io.StringIO
) -> None:
    monkeypatch.setenv("BREAKER_MIN_CALLS", "3")
    monkeypatch.setenv("BREAKER_COOLDOWN_SECONDS", "30")
    # The breakers' clock stands still until the test moves it: the fail-fast checks happen inside
    # the cooldown however long a loaded machine takes, and the cooldown passes without a sleep.
    now = [time.time()]
    monkeypatch.setattr(breaker, "WALL_CLOCK", lambda: now[0])
    stack.provider.faults({"kind": "server_error", "status": 503, "count": 100})

    status, answer = invoke(STORY, {"prompt": "x", "segment_count": 2})
    assert status == 502, answer  # 3 attempts, all 503: the third opened the breaker
    spent = len(chat_requests(stack))
    assert spent == 3

    (
        status,
        answer,
    ) = invoke(STORY, {"prompt": "x", "segment_count": 2})[:2]
    assert status == 503
    assert answer["code"] == "provider_circuit_open"
    _, raw = invoke(STORY, {"prompt": "x", "segment_count": 2}, raw=True)
    assert raw["multiValueHeaders"]["Retry-After"] == ["30"]
    assert len(chat_requests(stack)) == spent, "fail fast: no request reached the provider"

    clear_faults(stack)
    now[0] += 30
    status, answer = invoke(STORY, {"prompt": "x", "segment_count": 2})
    assert status == 200, answer
    probe = provider_calls(log_output)[-1]
    assert probe["breaker"] == "probe"
    messages = [record["message"] for record in log_records(log_output)]
    assert "circuit breaker opened" in messages
    assert "circuit breaker half-open" in messages
    assert "circuit breaker closed" in messages
    assert invoke(STORY, {"prompt": "y", "segment_count": 2})[0] == 200


def test_the_breaker_state_is_shared_through_dynamodb(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BREAKER_TABLE", physical_name("BreakerStateTable"))
    monkeypatch.setenv("BREAKER_MIN_CALLS", "3")
    stack.provider.faults({"kind": "server_error", "count": 3})
    assert invoke(STORY, {"prompt": "x", "segment_count": 2})[0] == 502
    spent = len(chat_requests(stack))

    reset_breakers()  # another container: no outcome of its own, no cached state
    status, answer = invoke(STORY, {"prompt": "x", "segment_count": 2})

    assert status == 503, answer
    assert answer["code"] == "provider_circuit_open"
    assert len(chat_requests(stack)) == spent


def test_timeouts_are_retried_then_answered_504_and_counted(
    stack: Stack,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    log_output: io.StringIO,
) -> None:
    monkeypatch.setenv("PROVIDER_TIMEOUT_SECONDS", "1")
    stack.provider.faults({"kind": "latency", "ms": 1500, "count": 3})

    status, answer = invoke(STORY, {"prompt": "x", "segment_count": 2})

    assert status == 504, answer
    assert [call["outcome"] for call in provider_calls(log_output)] == ["timeout"] * 3
    errors = [b for b in emf(capsys.readouterr().out) if "ProviderErrors_timeout" in b]
    assert len(errors) == 3


def test_a_429_storm_is_ridden_out_and_concurrency_stays_bounded(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, log_output: io.StringIO
) -> None:
    monkeypatch.setenv("MAX_PARALLEL_REQUESTS", "3")
    monkeypatch.setenv("PROVIDER_MAX_ATTEMPTS", "6")
    stack.provider.configure(rate_limit_per_second=4, rate_limit_burst=2, latency_ms=100)

    status, answer = invoke(SETS, {"prompt": "A heist at a bakery", "set_count": 8, "segments_per_set": 2})

    assert status == 200, answer
    assert len(answer["sets"]) == 8
    assert stack.provider.stats()["max_in_flight"] <= 3
    outcomes = [call["outcome"] for call in provider_calls(log_output)]
    assert outcomes.count("ok") == 8
    assert outcomes.count("rate_limited") <= 8, "after a 429 the container spaces its requests"


def test_a_warm_container_keeps_one_connection_per_provider(stack: Stack, invoke: Invoke) -> None:
    for prompt in ("one", "two", "three"):
        assert invoke(STORY, {"prompt": prompt, "segment_count": 2})[0] == 200
    for prompt in ("four", "five"):
        assert invoke(THUMBNAIL, {"prompt": prompt})[0] == 200

    ports: dict[str, set[int]] = {}
    for request in stack.provider.requests():
        ports.setdefault(request["target"], set()).add(request["client_port"])
    assert {target: len(used) for target, used in ports.items()} == {"openai": 1, "gemini": 1}


def test_no_secret_in_any_log_line_under_every_fault(
    stack: Stack,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    log_output: io.StringIO,
) -> None:
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    from contentgen.observability import logger

    logger.setLevel("DEBUG")
    try:
        stack.provider.faults(
            {"kind": "rate_limit", "retry_after_ms": 10},
            {"kind": "server_error"},
            {"kind": "drop"},
            {"kind": "unauthorized"},
            {"kind": "malformed"},
        )
        bodies = [invoke(STORY, {"prompt": "x", "segment_count": 2})[1] for _ in range(3)]
        bodies.append(invoke(THUMBNAIL, {"prompt": "a fox"})[1])
    finally:
        logger.setLevel("INFO")

    captured = capfd.readouterr()
    everything = json.dumps(bodies) + log_output.getvalue() + captured.out + captured.err
    assert stack.key not in everything
    assert stack.google_key not in everything
    prompts = [call["prompt"] for call in provider_calls(log_output)]
    assert any(len(prompt) > 200 and not prompt.endswith("chars]") for prompt in prompts), "DEBUG: in full"
