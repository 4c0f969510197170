"""POST /shorts starts a durable short (202); GET /shorts/{short_id} reports it to the key that paid.

Requests that arrive by SQS or EventBridge (`request_id` + request) come through the same route
(`contentgen.entrypoints.events`): this function is their dispatcher, starting the execution by
name (an event source mapping would start one execution per delivery: it does not dedupe).
"""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body

from contentgen.entrypoints.api import create_app, idempotency_key_of, lambda_entrypoint
from contentgen.entrypoints.spend import api_key_id_of, charged_keys
from contentgen.models.shorts import ShortAccepted, ShortRequest, ShortStatus
from contentgen.services.shorts import short_status, start_short
from contentgen.stores.idempotency import EVENT_SCOPE, http_scope

app = create_app()


def base_path() -> str:
    """What the caller's URL holds before the route's path (`/prod` behind the stage; else empty)."""
    event = app.current_event.raw_event
    requested = str((event.get("requestContext") or {}).get("path") or "")
    route_path = str(event.get("path") or "")
    if route_path and requested.endswith(route_path):
        return requested[: len(requested) - len(route_path)].rstrip("/")
    return ""


def _start_key() -> tuple[str, str | None]:
    """(scope, key) naming this start: the `Idempotency-Key` within the caller's API key over
    HTTP; the message's `request_id` (or the direct invocation's request id) otherwise."""
    event = app.current_event
    context = event.raw_event.get("requestContext") or {}
    if context.get("stage") == "direct":
        return EVENT_SCOPE, str(context.get("requestId") or "") or None
    return http_scope(api_key_id_of(event)), idempotency_key_of(event.raw_event)


@app.post("/shorts", status_code=202, response_description="The short was started")
def start(request: Annotated[ShortRequest, Body(embed=False)]) -> Response[ShortAccepted]:
    """202 with the short's id and, in `Location` and `status_url`, where to follow it; 429
    `budget_exceeded` (nothing started) when the short's most does not fit in a payer's budget."""
    scope, key = _start_key()
    # Who pays: the caller's key; for a queued/bus request the key it names and the pipeline key.
    payers = charged_keys(app.current_event)
    accepted = start_short(
        request, owner=payers[0], payers=payers, scope=scope, key=key, base_path=base_path()
    )
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=accepted,
        headers={"Location": accepted.status_url},
    )


@app.get("/shorts/<short_id>")
def status(short_id: str) -> ShortStatus:
    """The short, for the API key that paid for it; 404 for any other key, as for an unknown id."""
    return short_status(short_id, api_key_id_of(app.current_event))


lambda_handler = lambda_entrypoint(app, direct_route=("POST", "/shorts"))
