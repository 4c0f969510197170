"""What a handler that starts a durable execution (POST /videos, POST /shorts) reads from its event:
the idempotency scope and key naming the start, and the base path its status URL is built on."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from contentgen.entrypoints.api import idempotency_key_of
from contentgen.entrypoints.spend import api_key_id_of
from contentgen.stores.idempotency import EVENT_SCOPE, http_scope


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
