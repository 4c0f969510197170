"""GET /results/{request_id}: the stored result (or error) of an event-triggered generation."""

import contentgen.entrypoints.coldstart  # noqa: F401 - first: garbage collection off while the function loads

# isort: split

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.entrypoints.spend import calling_key
from contentgen.models.events import RequestId
from contentgen.models.http import StoredResult
from contentgen.services.results import read_result

app = create_app()


@app.get(
    "/results/<request_id>",
    responses={
        200: {"description": "The stored outcome", "content": {"application/json": {"model": StoredResult}}}
    },
)
def result(request_id: Annotated[RequestId, Path()]) -> dict[str, Any]:
    return read_result(request_id, calling_key(app.current_event))


lambda_handler = lambda_entrypoint(app)
