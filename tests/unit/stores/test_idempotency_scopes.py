"""What an `Idempotency-Key` remembers and for whom (contentgen.stores.idempotency, contentgen.entrypoints.api), over
Powertools' DynamoDB layer on moto: keys scoped per API key, outcomes of unconfirmed paid work
remembered, replays passed through the route's hook."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.errors import ProviderTimeoutError
from contentgen.models.stories import StorySegmentsRequest
from contentgen.stores.idempotency import EVENT_SCOPE, http_scope, remembered
from local.lambda_context import LocalLambdaContext
from tests.unit.stores.test_idempotency import ROUTE, Handler, Route, aws, post  # noqa: F401 (fixture)

# --- which outcomes are kept --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "kept"),
    [
        ({"status_code": 200, "body": {"title": "t"}}, True),
        ({"status_code": 202, "body": {"job_id": "j"}}, True),
        ({"status_code": 422, "body": {"code": "content_filtered"}}, True),
        ({"status_code": 422, "body": {"code": "invalid_request"}}, False),
        ({"status_code": 429, "body": {"code": "budget_exceeded"}}, False),
        ({"status_code": 504, "body": {"code": "provider_timeout"}}, False),
        ({"status_code": 502, "body": {"code": "provider_unavailable"}}, False),
        ({"status_code": 504, "body": {"code": "provider_timeout", "unconfirmed_paid_work": True}}, True),
        ({"status_code": 504, "body": {"code": "provider_timeout", "unconfirmed_paid_work": "yes"}}, False),
        ({"status_code": 504, "body": None}, False),
    ],
)
def test_which_outcomes_are_remembered(outcome: dict[str, Any], kept: bool) -> None:
    assert remembered(outcome) is kept


def test_http_scopes_are_per_api_key_and_never_the_event_scope() -> None:
    scopes = {http_scope("k-a"), http_scope("k-b"), http_scope(None), http_scope(""), EVENT_SCOPE}
    assert len(scopes) == 4  # None and "" are both "no key"
    assert http_scope(None) == http_scope("") != EVENT_SCOPE


# --- keys per API key ---------------------------------------------------------------------------


def answered() -> dict[str, str]:
    return {"title": "ok"}


@pytest.mark.usefixtures("aws")
def test_one_idempotency_key_sent_by_different_api_keys_runs_for_each(
    api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    route = Route(answered)

    for api_key_id in ("k-a", "k-b", None, "k-a", "k-b", None):
        answer = post(route, api_event, lambda_context, key="order-X", api_key_id=api_key_id)
        assert answer["statusCode"] == 200, answer

    assert route.runs == 3, "one run per API key (and one without a key); each repeat replayed"


# --- unconfirmed paid work ----------------------------------------------------------------------


def timed_out(unconfirmed: bool) -> Callable[[], Any]:
    def answer() -> Any:
        error = ProviderTimeoutError("the provider did not answer in time")
        error.unconfirmed_paid_work = unconfirmed
        raise error

    return answer


@pytest.mark.usefixtures("aws")
def test_a_server_error_after_unconfirmed_paid_work_is_remembered_and_replayed(
    api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    route = Route(timed_out(unconfirmed=True))

    first = post(route, api_event, lambda_context)
    again = post(route, api_event, lambda_context)

    assert route.runs == 1, "not run (and paid) again"
    assert first["statusCode"] == again["statusCode"] == 504
    body = json.loads(first["body"])
    assert body["unconfirmed_paid_work"] is True
    assert json.loads(again["body"]) == body
    assert again["multiValueHeaders"]["Idempotency-Key"] == ["order-1"]


@pytest.mark.usefixtures("aws")
def test_a_plain_server_error_is_not_remembered(
    api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    route = Route(timed_out(unconfirmed=False))

    first = post(route, api_event, lambda_context)
    post(route, api_event, lambda_context)

    assert route.runs == 2
    assert "unconfirmed_paid_work" not in json.loads(first["body"])


# --- the replay hook ----------------------------------------------------------------------------


class HookedRoute(Route):
    """A route answering `{"n": <run>}`, with a replay hook that marks what it was given."""

    def __init__(self, hook: Callable[[int, Any], Any]) -> None:
        self.runs = 0
        app = create_app()

        @app.post(ROUTE[1])
        def route(request: StorySegmentsRequest) -> Any:
            self.runs += 1
            return {"n": self.runs}

        self.handler: Handler = lambda_entrypoint(app, direct_route=ROUTE, on_replay=hook)


@pytest.mark.usefixtures("aws")
def test_only_replays_go_through_the_routes_hook(
    api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    seen: list[tuple[int, Any]] = []

    def hook(status: int, body: Any) -> Any:
        seen.append((status, body))
        return {**body, "replayed": True}

    route = HookedRoute(hook)

    first = post(route, api_event, lambda_context)
    again = post(route, api_event, lambda_context)

    stored = json.loads(first["body"])
    assert stored["n"] == 1
    assert json.loads(again["body"]) == {**stored, "replayed": True}
    assert seen == [(200, stored)]
    assert route.runs == 1


@pytest.mark.usefixtures("aws")
def test_a_failing_replay_hook_gives_the_stored_answer(
    api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    def hook(status: int, body: Any) -> Any:
        raise RuntimeError("cannot sign")

    route = HookedRoute(hook)
    first = post(route, api_event, lambda_context)

    again = post(route, api_event, lambda_context)

    assert again["statusCode"] == 200
    assert json.loads(again["body"]) == json.loads(first["body"])
    assert route.runs == 1
