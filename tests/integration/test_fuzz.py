"""A bounded, seeded fuzz of every route (issue 15, "Hostile input never gets a 500").

Hypothesis builds API Gateway proxy events (methods, paths and path parameters, headers with odd
Content-Types, x-api-key and Idempotency-Key values, query strings, bodies: arbitrary text and
bytes, the base64 flag, deep nesting, huge integers, arrays, wrong types, the route's own valid
body) and direct invocations, and sends them to each function's handler with the emulator and moto
up. Any 5xx that is not a provider failure (502/503/504 with a provider code) fails the test.
`derandomize=True` makes the cases the same on every run; `FUZZ_EXAMPLES` cases per route.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.template import Route, routes
from tests.integration.conftest import Stack
from tests.integration.test_hostile_input import call, sample_event

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # generated requests on every route

FUZZ_EXAMPLES = 40

# 5xx a failing (or slow, or rate limiting, or unconfigured) provider may cause; nothing else.
PROVIDER_FAILURES = {
    "provider_error",
    "provider_unavailable",
    "provider_rate_limited",
    "provider_timeout",
    "provider_rejected_credentials",
    "provider_rejected_request",
    "provider_circuit_open",
    "model_unavailable",
    "invalid_model_output",
    "deadline_exceeded",
    # POST /videos starts a durable execution by invoking the job function; this harness deploys
    # none, so the start fails as the infrastructure failure it documents (503, the job recorded,
    # "send the request again"). test_video_jobs.py runs the same route with the durable runner.
    "job_not_started",
}

CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [
            None,
            "",
            "application/json",
            "APPLICATION/JSON; charset=UTF-8",
            "application/vnd.api+json",
            "application/problem+json",
            "application/json; charset=latin-1",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=xyz",
            "application/xml",
        ]
    ),
    st.text(max_size=30),
)

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def bodies(sample: dict[str, Any]) -> st.SearchStrategy[str | None]:
    fields = sorted(sample)
    wrong_types = st.fixed_dictionaries({}, optional={name: JSON_VALUES for name in fields}).map(
        lambda changed: json.dumps({**sample, **changed})
    )
    return st.one_of(
        st.none(),
        st.text(max_size=200),
        JSON_VALUES.map(json.dumps),
        wrong_types,
        st.lists(st.just(sample), min_size=1, max_size=2).map(json.dumps),
        st.integers(33, 3000).map(lambda n: "[" * n + "]" * n),
        st.integers(33, 3000).map(lambda n: '{"a":' * n + "1" + "}" * n),
        st.integers(101, 6000).map(lambda n: json.dumps(sample)[:-1] + ', "n": ' + "9" * n + "}"),
        st.just(json.dumps(sample)),
    )


@st.composite
def proxy_events(draw: st.DrawFn, route: Route) -> dict[str, Any]:
    event = sample_event(route)
    sample = json.loads(event["body"]) if event.get("body") else {"prompt": "x"}
    event["httpMethod"] = draw(
        st.just(route.method) | st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"])
    )
    if event.get("pathParameters"):
        event["pathParameters"] = {
            name: draw(st.just(value) | st.text(max_size=140))
            for name, value in event["pathParameters"].items()
        }
    if draw(st.booleans()):
        event["path"] = draw(st.just(event["path"]) | st.text(max_size=40).map(lambda p: "/" + p))
    if route.method == "GET":
        query = draw(
            st.none() | st.dictionaries(st.sampled_from(["deep", "x"]), st.text(max_size=8), max_size=2)
        )
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    headers = {k: v for k, v in event["headers"].items() if k.lower() != "content-type"}
    content_type = draw(CONTENT_TYPES)
    if content_type is not None:
        headers["Content-Type"] = content_type
    if draw(st.booleans()):
        headers["x-api-key"] = draw(st.text(max_size=24))
    if draw(st.integers(0, 3)) == 0:
        headers["Idempotency-Key"] = draw(st.text(min_size=1, max_size=40))
    event["headers"] = headers
    event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    body = draw(bodies(sample))
    encoded = draw(st.booleans())
    if encoded:
        body = draw(
            st.sampled_from(["text", "binary", "raw"]).flatmap(
                lambda kind: (
                    st.just(base64.b64encode((body or "").encode()).decode())
                    if kind == "text"
                    else st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode())
                    if kind == "binary"
                    else st.text(max_size=40)
                )
            )
        )
    event["body"] = body
    event["isBase64Encoded"] = encoded
    return event


def assert_no_unexpected_5xx(answer: dict[str, Any], *, direct: bool) -> None:
    if direct:
        status, body = int(answer.get("status_code", 200)), answer
    else:
        status, body = answer["statusCode"], json.loads(answer["body"])
        assert answer["multiValueHeaders"]["X-Request-Id"]
    if status >= 500:
        assert isinstance(body, dict), (status, body)
        assert body.get("code") in PROVIDER_FAILURES, (status, body)


@pytest.mark.parametrize("route", routes(), ids=lambda route: f"{route.method} {route.path}")
def test_no_route_answers_a_5xx_for_what_a_caller_sent(stack: Stack, route: Route) -> None:
    @settings(
        max_examples=FUZZ_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(event=proxy_events(route) | JSON_VALUES.map(lambda value: {"__direct__": value}))
    def fuzz(event: dict[str, Any]) -> None:
        if "__direct__" in event:
            answer = call(route.function, event["__direct__"])
            if isinstance(answer, dict) and "statusCode" not in answer:
                assert_no_unexpected_5xx(answer, direct=True)
            return
        assert_no_unexpected_5xx(call(route.function, event), direct=False)

    fuzz()


# Any JSON value Lambda's runtime can hand a handler (Python's json module reads NaN and Infinity,
# integers of any size), and text no UTF-8 can carry.
ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**150), max_value=10**150)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["\ud800", "k\udfff", "", "aws:sqs"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
PROXY_FIELDS = [
    "resource",
    "path",
    "httpMethod",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext",
    "body",
    "isBase64Encoded",
    "requestContext.requestId",
    "requestContext.identity",
    "headers.Content-Type",
    "headers.x-api-key",
    "headers.Idempotency-Key",
    "multiValueHeaders.Content-Type",
]


@st.composite
def odd_events(draw: st.DrawFn, route: Route) -> Any:
    """A route's sample event with one field replaced by any JSON value, or any JSON value as the
    event, or a batch of any records, or an EventBridge event with any `detail`."""
    kind = draw(st.sampled_from(["field", "event", "records", "detail"]))
    if kind == "event":
        return draw(ANY_JSON)
    if kind == "records":
        record = st.fixed_dictionaries(
            {"messageId": ANY_JSON, "eventSource": st.just("aws:sqs") | ANY_JSON, "body": ANY_JSON}
        )
        return {"Records": draw(st.lists(record | ANY_JSON, min_size=1, max_size=3))}
    if kind == "detail":
        request_id = st.just("req-fuzz-detail") | ANY_JSON
        detail = st.fixed_dictionaries({"request_id": request_id, "request": ANY_JSON}) | ANY_JSON
        return {"source": "fuzz", "detail-type": "fuzz", "id": "fuzz", "detail": draw(detail)}
    event = sample_event(route)
    *parents, last = draw(st.sampled_from(PROXY_FIELDS)).split(".")
    target = event
    for name in parents:
        if not isinstance(target.get(name), dict):
            target[name] = {}
        target = target[name]
    target[last] = draw(ANY_JSON)
    return event


@pytest.mark.parametrize("route", routes(), ids=lambda route: f"{route.method} {route.path}")
def test_any_json_value_as_the_event_or_a_proxy_field_is_a_4xx_or_one_named_error(
    stack: Stack, route: Route
) -> None:
    """Never an unhandled exception: a proxy event is answered (a 5xx only for a provider
    failure), a direct invocation too, a batch reports its records, and an event that holds
    nothing to answer raises the one documented error, `UnusableEventError`."""
    from contentgen.entrypoints.envelope import UnusableEventError

    @settings(
        max_examples=FUZZ_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(event=odd_events(route))
    def fuzz(event: Any) -> None:
        try:
            answer = call(route.function, event)
        except UnusableEventError:
            return
        if isinstance(answer, dict) and "statusCode" in answer:
            assert_no_unexpected_5xx(answer, direct=False)
        elif isinstance(answer, dict) and "batchItemFailures" not in answer:
            assert_no_unexpected_5xx(answer, direct=True)

    fuzz()
