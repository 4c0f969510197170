"""What a handler that starts a durable execution (POST /videos, POST /shorts) reads from its event
(the idempotency scope and key naming the start, the base path its status URL is built on, who
pays) and how it answers: `started`, the 202 with `Location`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from contentgen.entrypoints.api import idempotency_key_of
from contentgen.entrypoints.spend import api_key_id_of, charged_keys
from contentgen.stores.idempotency import EVENT_SCOPE, http_scope


class Accepted(Protocol):
    """A start's 202 body (`VideoJobAccepted`, `ShortAccepted`): where to follow it."""

    @property
    def status_url(self) -> str: ...


A = TypeVar("A", bound=Accepted)


def started(event: APIGatewayProxyEvent, start: Callable[..., A]) -> Response[A]:
    """Start a durable execution with `start(owner=, payers=, scope=, key=, base_path=)` (a
    service's starter with its request bound, e.g. `partial(start_video_job, request)`) and answer
    202 with its body and, in `Location`, its `status_url`.

    Who pays (`charged_keys`): the caller's API key; for a queued/bus request the key it names and
    the pipeline key; the first of them owns the job. `scope`/`key` from `start_key`, `base_path`
    from `base_path`. The starter's errors (429 over budget, 409, 503) propagate to the API's
    error mapping."""
    scope, key = start_key(event)
    payers = charged_keys(event)
    accepted = start(owner=payers[0], payers=payers, scope=scope, key=key, base_path=base_path(event))
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=accepted,
        headers={"Location": accepted.status_url},
    )


def start_key(event: APIGatewayProxyEvent) -> tuple[str, str | None]:
    """(scope, key) naming a start, the pair `run_once`-style deduplication keys it under.

    Over HTTP: scope `http_scope(<caller's API key id>)`, key the POST's `Idempotency-Key`
    header (None without one: every request then starts anew). For a direct invocation
    (`requestContext.stage == "direct"`: a message from SQS/EventBridge carried as `request_id`,
    or Lambda's retries of an asynchronous invocation): scope `EVENT_SCOPE`, key the
    invocation's `requestContext.requestId` (None when empty). The two scopes never meet, so a
    header can never replay an event's start nor one API key another's."""
    context = event.raw_event.get("requestContext") or {}
    if context.get("stage") == "direct":
        return EVENT_SCOPE, str(context.get("requestId") or "") or None
    return http_scope(api_key_id_of(event)), idempotency_key_of(event.raw_event)


def base_path(event: APIGatewayProxyEvent) -> str:
    """What the caller's URL holds before the route's path, `/prod` when
    called behind the stage (API Gateway's `requestContext.path` is `/prod/videos` for the route
    `/videos`); empty on a custom domain's root, on the local gateway without a stage, and for
    direct invocations (no `requestContext.path`)."""
    raw = event.raw_event
    requested = str((raw.get("requestContext") or {}).get("path") or "")
    route_path = str(raw.get("path") or "")
    if route_path and requested.endswith(route_path):
        return requested[: len(requested) - len(route_path)].rstrip("/")
    return ""
