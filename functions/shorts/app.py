"""POST /shorts starts a durable short (202); GET /shorts/{short_id} reports it to the key that paid.

Requests that arrive by SQS or EventBridge (`request_id` + request) come through the same route
(`contentgen.entrypoints.events`): this function is their dispatcher, starting the execution by
name (an event source mapping would start one execution per delivery: it does not dedupe).
"""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

from functools import partial
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.entrypoints.spend import api_key_id_of
from contentgen.entrypoints.starts import started
from contentgen.models.shorts import ShortAccepted, ShortRequest, ShortStatus
from contentgen.services.shorts import short_status, start_short

app = create_app()


@app.post("/shorts", status_code=202, response_description="The short was started")
def start(request: Annotated[ShortRequest, Body(embed=False)]) -> Response[ShortAccepted]:
    """202 with the short's id and, in `Location` and `status_url`, where to follow it; 429
    `budget_exceeded` (nothing started) when the short's most does not fit in a payer's budget."""
    return started(app.current_event, partial(start_short, request))


@app.get("/shorts/<short_id>")
def status(short_id: str) -> ShortStatus:
    """The short, for the API key that paid for it; 404 for any other key, as for an unknown id."""
    return short_status(short_id, api_key_id_of(app.current_event))


lambda_handler = lambda_entrypoint(app, direct_route=("POST", "/shorts"))
