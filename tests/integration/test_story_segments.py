"""POST /stories/segments over the wire: success, every invalid input, every injected fault."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from contentgen.catalog import default_chain
from contentgen.clients import secrets
from contentgen.clients.dynamodb import DynamoDBClient
from local.lambda_context import LocalLambdaContext
from local.params_extension import ParametersExtension
from tests.conftest import log_records
from tests.integration.conftest import Handler, Stack

pytestmark = pytest.mark.integration

Event = Callable[..., dict[str, Any]]


def post(
    handler: Handler, api_event: Event, body: Any, context: LocalLambdaContext
) -> tuple[int, dict[str, Any]]:
    response = handler(api_event("POST", "/stories/segments", body), context)
    return response["statusCode"], json.loads(response["body"])


def test_story_in_exactly_the_segments_asked_for(
    stack: Stack, story_handler: Handler, api_event: Event, context: LocalLambdaContext
) -> None:
    body = {
        "prompt": "  A robot learns to paint  ",
        "segment_count": 7,
        "style": "whimsical",
        "language": "es-MX",
    }

    status, answer = post(story_handler, api_event, body, context)

    assert status == 200
    assert [segment["index"] for segment in answer["segments"]] == list(range(1, 8))
    assert all(segment["text"] and segment["visual_prompt"] for segment in answer["segments"])
    assert answer["title"]
    assert answer["model"] == default_chain("text")[0]
    (request,) = stack.provider.requests()
    sent = request["body"]
    schema = sent["response_format"]["json_schema"]
    assert sent["response_format"]["type"] == "json_schema"
    assert schema["strict"] is True
    assert schema["schema"]["properties"]["segments"]["minItems"] == 7
    assert schema["schema"]["properties"]["segments"]["maxItems"] == 7
    user = sent["messages"][-1]["content"]
    assert "A robot learns to paint" in user
    assert "whimsical" in user
    assert "es-MX" in user
    assert request["headers"]["authorization"] == f"Bearer {stack.key}"
    assert request["headers"]["x-title"] == "contentgen"
    assert request["headers"]["http-referer"].startswith("https://")


def test_default_segment_count_is_six(
    stack: Stack, story_handler: Handler, api_event: Event, context: LocalLambdaContext
) -> None:
    status, answer = post(story_handler, api_event, {"prompt": "x"}, context)

    assert status == 200
    assert len(answer["segments"]) == 6


def test_warm_invocations_read_ssm_once(
    stack: Stack,
    story_handler: Handler,
    api_event: Event,
    context: LocalLambdaContext,
    params_extension: ParametersExtension,
) -> None:
    """The template's path: the key comes through the Parameters and Secrets extension's endpoint."""
    before = params_extension.requests.count(stack.parameter)

    for _ in range(5):
        assert post(story_handler, api_event, {"prompt": "x", "segment_count": 1}, context)[0] == 200

    assert params_extension.requests.count(stack.parameter) - before == 1
    assert secrets._provider is None  # no SSMProvider (boto3 SSM client) was built


def test_the_first_generation_reads_its_key_while_the_budget_query_is_in_flight(
    stack: Stack,
    story_handler: Handler,
    api_event: Event,
    context: LocalLambdaContext,
    params_extension: ParametersExtension,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cold start: the key is read ahead (`secrets.prefetch_api_keys`), not after the spend
    ledger's reservation. The budget Query waits here until the key read has reached the
    extension, which a read made in sequence (Query, provider call, key) would never do; the key
    is still read once."""
    arrived = threading.Event()
    answer = params_extension.answer

    def answering(path: str, token: str | None) -> tuple[int, dict[str, Any] | str]:
        arrived.set()
        return answer(path, token)

    monkeypatch.setattr(params_extension, "answer", answering)
    waited: list[bool] = []
    send = DynamoDBClient._make_api_call

    def query_after_the_key_read(self: DynamoDBClient, operation: str, parameters: Any) -> dict[str, Any]:
        if operation == "Query" and not waited:
            waited.append(arrived.wait(timeout=30))
        return send(self, operation, parameters)

    monkeypatch.setattr(DynamoDBClient, "_make_api_call", query_after_the_key_read)
    before = params_extension.requests.count(stack.parameter)

    assert post(story_handler, api_event, {"prompt": "x", "segment_count": 1}, context)[0] == 200

    assert waited == [True]
    assert params_extension.requests.count(stack.parameter) - before == 1


LONG = "x" * 4001


@pytest.mark.parametrize(
    ("body", "field", "status"),
    [
        ({}, "prompt", 422),
        ({"prompt": ""}, "prompt", 422),
        ({"prompt": "   \n\t "}, "prompt", 422),
        ({"prompt": LONG}, "prompt", 422),
        ({"prompt": 42}, "prompt", 422),
        ({"prompt": "x", "segment_count": 0}, "segment_count", 422),
        ({"prompt": "x", "segment_count": 51}, "segment_count", 422),
        ({"prompt": "x", "segment_count": "6"}, "segment_count", 422),
        ({"prompt": "x", "segment_count": 6.5}, "segment_count", 422),
        ({"prompt": "x", "segment_count": True}, "segment_count", 422),
        ({"prompt": "x", "segment_count": None}, "segment_count", 422),
        ({"prompt": "x", "style": "s" * 201}, "style", 422),
        ({"prompt": "x", "language": "english please"}, "language", 422),
        ({"prompt": "x", "language": ""}, "language", 422),
        ({"prompt": "x", "segmentCount": 3}, "segmentCount", 422),
    ],
)
def test_invalid_input_is_a_4xx_naming_the_field(
    stack: Stack,
    story_handler: Handler,
    api_event: Event,
    context: LocalLambdaContext,
    body: dict[str, Any],
    field: str,
    status: int,
) -> None:
    answer_status, answer = post(story_handler, api_event, body, context)

    assert answer_status == status
    assert field in [error["field"] for error in answer["errors"]]
    assert field in answer["message"]
    assert stack.provider.requests() == [], "invalid input must not cost a provider call"


@pytest.mark.parametrize(
    ("raw", "status"), [("not json", 400), ('{"prompt": ', 400), ("[1, 2]", 422), ("null", 422), ("", 422)]
)
def test_body_that_is_not_a_json_object_is_refused(
    stack: Stack, story_handler: Handler, api_event: Event, context: LocalLambdaContext, raw: str, status: int
) -> None:
    response = story_handler(api_event("POST", "/stories/segments", raw_body=raw), context)

    assert response["statusCode"] == status
    assert "body" in json.loads(response["body"])["message"]
    assert stack.provider.requests() == []


# -- injected faults ----------------------------------------------------------------------------


def test_429_with_retry_after_is_retried_after_that_wait(
    stack: Stack, story_handler: Handler, api_event: Event, context: LocalLambdaContext
) -> None:
    stack.provider.faults({"kind": "rate_limit", "retry_after": 0.4})
    started = time.perf_counter()

    status, _ = post(story_handler, api_event, {"prompt": "x", "segment_count": 2}, context)

    assert status == 200
    assert time.perf_counter() - started >= 0.4
    assert len(stack.provider.requests()) == 2


def test_429_with_retry_after_ms_is_honoured(
    stack: Stack, story_handler: Handler, api_event: Event, context: LocalLambdaContext
) -> None:
    stack.provider.faults({"kind": "rate_limit", "retry_after_ms": 300})
    started = time.perf_counter()

    assert post(story_handler, api_event, {"prompt": "x"}, context)[0] == 200
    assert time.perf_counter() - started >= 0.3


def test_429_that_persists_is_503_with_retry_after(
    stack: Stack, story_handler: Handler, api_event: Event, context: LocalLambdaContext
) -> None:
    stack.provider.faults({"kind": "rate_limit", "retry_after": 0.2, "count": 10})

    response = story_handler(api_event("POST", "/stories/segments", {"prompt": "x"}), context)

    assert response["statusCode"] == 503
    assert json.loads(response["body"])["code"] == "provider_rate_limited"
    assert response["multiValueHeaders"]["Retry-After"] == ["1"]
    assert len(stack.provider.requests()) == 3


@pytest.mark.parametrize("kind", [{"kind": "server_error", "status": 500}, {"kind": "drop"}])
def test_one_transient_failure_is_retried(
    stack: Stack, story_handler: Handler, api_event: Event, context: LocalLambdaContext, kind: dict[str, Any]
) -> None:
    stack.provider.faults(kind)

    assert post(story_handler, api_event, {"prompt": "x"}, context)[0] == 200
    assert len(stack.provider.requests()) == 2


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"kind": "server_error", "status": 503, "count": 3}, "provider_unavailable"),
        ({"kind": "server_error", "status": 500, "count": 3}, "provider_unavailable"),
        ({"kind": "drop", "count": 3}, "provider_unavailable"),
    ],
)
def test_failures_that_persist_are_502(
    stack: Stack,
    story_handler: Handler,
    api_event: Event,
    context: LocalLambdaContext,
    fault: dict[str, Any],
    code: str,
) -> None:
    stack.provider.faults(fault)

    status, answer = post(story_handler, api_event, {"prompt": "x"}, context)

    assert status == 502
    assert answer["code"] == code
    assert len(stack.provider.requests()) == 3


def test_slow_provider_times_out_as_504(
    stack: Stack,
    story_handler: Handler,
    api_event: Event,
    context: LocalLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROVIDER_TIMEOUT_SECONDS", "0.3")
    stack.provider.faults({"kind": "latency", "ms": 1000, "count": 3})

    status, answer = post(story_handler, api_event, {"prompt": "x"}, context)

    assert status == 504
    assert answer["code"] == "provider_timeout"


@pytest.mark.slow  # runs to a 3.5 s Lambda deadline
def test_answers_before_the_lambda_would_time_out(
    stack: Stack, story_handler: Handler, api_event: Event
) -> None:
    short = LocalLambdaContext(function_name="StorySegmentsFunction", timeout_seconds=3.5)
    stack.provider.faults({"kind": "latency", "ms": 6000, "count": 5})

    status, answer = post(story_handler, api_event, {"prompt": "x"}, short)

    assert status == 504
    assert answer["code"] in ("provider_timeout", "deadline_exceeded")
    assert short.get_remaining_time_in_millis() > 0  # by the invocation's own clock, not the test's


def test_malformed_reply_once_is_reasked_with_the_error(
    stack: Stack, story_handler: Handler, api_event: Event, context: LocalLambdaContext
) -> None:
    stack.provider.faults({"kind": "malformed"})

    status, answer = post(story_handler, api_event, {"prompt": "x", "segment_count": 3}, context)

    assert status == 200
    assert len(answer["segments"]) == 3
    first, second = stack.provider.requests()
    assert len(second["body"]["messages"]) == len(first["body"]["messages"]) + 2
    assert "not valid JSON" in second["body"]["messages"][-1]["content"]


def test_wrong_sized_reply_once_is_reasked(
    stack: Stack, story_handler: Handler, api_event: Event, context: LocalLambdaContext
) -> None:
    stack.provider.faults({"kind": "wrong_size"})

    status, answer = post(story_handler, api_event, {"prompt": "x", "segment_count": 4}, context)

    assert status == 200
    assert len(answer["segments"]) == 4
    assert (
        "expected exactly 4 items, got 5" in stack.provider.requests()[1]["body"]["messages"][-1]["content"]
    )


@pytest.mark.parametrize("kind", ["malformed", "wrong_size"])
def test_bad_reply_twice_is_502(
    stack: Stack, story_handler: Handler, api_event: Event, context: LocalLambdaContext, kind: str
) -> None:
    stack.provider.faults({"kind": kind, "count": 2})

    status, answer = post(story_handler, api_event, {"prompt": "x"}, context)

    assert status == 502
    assert answer["code"] == "invalid_model_output"
    assert len(stack.provider.requests()) == 2


def test_rotated_key_is_picked_up_without_redeploy(
    stack: Stack, story_handler: Handler, api_event: Event, context: LocalLambdaContext
) -> None:
    old_key = stack.key
    assert post(story_handler, api_event, {"prompt": "x"}, context)[0] == 200

    stack.rotate_key("it-rotated-key-2")
    status, _ = post(story_handler, api_event, {"prompt": "x"}, context)

    assert status == 200
    rejected, accepted = stack.provider.requests()[1:]
    assert rejected["headers"]["authorization"] == f"Bearer {old_key}"
    assert accepted["headers"]["authorization"] == "Bearer it-rotated-key-2"


def test_key_rejected_even_after_refresh_is_502(
    stack: Stack, story_handler: Handler, api_event: Event, context: LocalLambdaContext
) -> None:
    stack.provider.configure(api_key="some-other-key")

    status, answer = post(story_handler, api_event, {"prompt": "x"}, context)

    assert status == 502
    assert answer["code"] == "provider_rejected_credentials"
    assert len(stack.provider.requests()) == 2


def test_missing_ssm_parameter_is_503_naming_it_and_not_cached(
    stack: Stack, story_handler: Handler, api_event: Event, context: LocalLambdaContext
) -> None:
    stack.ssm.delete_parameter(Name=stack.parameter)

    status, answer = post(story_handler, api_event, {"prompt": "x"}, context)

    assert status == 503
    assert answer["code"] == "secret_unavailable"
    assert stack.parameter in answer["message"]
    stack.rotate_key(stack.key)
    assert post(story_handler, api_event, {"prompt": "x"}, context)[0] == 200


def test_no_key_in_any_log_line_or_response(
    stack: Stack,
    story_handler: Handler,
    api_event: Event,
    context: LocalLambdaContext,
    log_output: io.StringIO,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    stack.provider.faults(
        {"kind": "unauthorized"},
        {"kind": "rate_limit", "retry_after": 0.1},
        {"kind": "malformed"},
        {"kind": "drop"},
    )
    bodies = [post(story_handler, api_event, {"prompt": "x"}, context)[1] for _ in range(3)]
    stack.provider.configure(api_key="nope")
    bodies.append(post(story_handler, api_event, {"prompt": "x"}, context)[1])

    captured = capfd.readouterr()
    everything = json.dumps(bodies) + log_output.getvalue() + captured.out + captured.err
    assert stack.key not in everything
    assert len(log_records(log_output)) > 5


def test_the_correlation_id_is_in_every_log_line(
    stack: Stack,
    story_handler: Handler,
    api_event: Event,
    context: LocalLambdaContext,
    log_output: io.StringIO,
) -> None:
    stack.provider.faults({"kind": "server_error"})
    post(story_handler, api_event, {"prompt": "x"}, context)

    records = log_records(log_output)
    assert "provider call" in {record["message"] for record in records}
    calls = [record for record in records if record["message"] == "provider call"]
    assert [(call["attempt"], call["outcome"], call["http_status"]) for call in calls[:1]] == [
        (1, "server_error", 500)
    ]
    assert (calls[1]["attempt"], calls[1]["outcome"]) == (2, "ok")
    assert {record["correlation_id"] for record in records} == {"c6af9ac6-7b61-11e6-9a41-93e8deadbeef"}
    assert all(record.get("prompt") != "x" for record in records)


def test_request_served_is_info_only_where_the_access_log_does_not_say_it(
    stack: Stack,
    story_handler: Handler,
    api_event: Event,
    context: LocalLambdaContext,
    log_output: io.StringIO,
) -> None:
    def served() -> list[dict[str, Any]]:
        lines = [record for record in log_records(log_output) if record["message"] == "request served"]
        log_output.seek(0)
        log_output.truncate()
        return lines

    assert post(story_handler, api_event, {"prompt": "x"}, context)[0] == 200
    assert served() == []  # a success over HTTP: API Gateway's access log has it (INFO here)

    assert post(story_handler, api_event, {"prompt": ""}, context)[0] == 422
    [refused] = served()
    assert (refused["level"], refused["status"], refused["code"]) == ("INFO", 422, "invalid_request:prompt")

    story_handler({"prompt": "A dragon opens a bakery", "segment_count": 2}, context)
    [direct] = served()
    assert (direct["level"], direct["status"], direct["direct"]) == ("INFO", 200, True)

    keyed = api_event("POST", "/stories/segments", {"prompt": "x"})
    keyed["headers"]["Idempotency-Key"] = "served-line-1"
    assert story_handler(keyed, context)["statusCode"] == 200
    [with_key] = served()
    assert (with_key["level"], with_key["idempotency_key"]) == ("INFO", "served-line-1")


def test_direct_invocation_returns_the_http_body(
    stack: Stack, story_handler: Handler, context: LocalLambdaContext
) -> None:
    answer = story_handler({"prompt": "A dragon opens a bakery", "segment_count": 2}, context)

    assert [segment["index"] for segment in answer["segments"]] == [1, 2]
    assert story_handler({"prompt": ""}, context)["status_code"] == 422


@pytest.mark.parametrize(
    "wrapping",
    [
        "Here is your story:\n\n{json}\n\nI hope you like it!",
        "```json\n{json}\n```",
        'Sure. ```json\n{json}\n``` The {{"title"}} key holds the title.',
    ],
)
def test_json_in_prose_or_a_fence_is_taken_from_the_first_reply(
    stack: Stack, story_handler: Handler, api_event: Event, context: LocalLambdaContext, wrapping: str
) -> None:
    story = {
        "title": "The Keeper",
        "segments": [{"text": f"Beat {n}.", "visual_prompt": f"Shot {n}, vertical"} for n in (1, 2)],
    }
    stack.provider.faults({"kind": "reply", "content": wrapping.format(json=json.dumps(story))})

    status, answer = post(story_handler, api_event, {"prompt": "x", "segment_count": 2}, context)

    assert status == 200
    assert answer["title"] == "The Keeper"
    assert [segment["text"] for segment in answer["segments"]] == ["Beat 1.", "Beat 2."]
    assert len(stack.provider.requests()) == 1
