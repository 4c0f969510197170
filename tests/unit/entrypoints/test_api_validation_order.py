"""Request validation over HTTP answers what Powertools' own middleware answers, error ORDER
included: `read_request` hands the route the body re-serialised canonically (sorted keys), so
unknown fields are reported in sorted order whatever order the caller sent them in (a validation
of the caller's own parse, in its key order, would not)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from contentgen.models.stories import StorySegmentsRequest
from local.lambda_context import LocalLambdaContext


def _served(app: APIGatewayRestResolver) -> Callable[[Any, Any], Any]:
    @app.post("/stories/segments")
    def route(request: StorySegmentsRequest) -> Any:
        return {"prompt": request.prompt}

    return lambda_entrypoint(app, direct_route=("POST", "/stories/segments"))


@pytest.mark.parametrize(
    "raw",
    [
        '{"prompt": "x", "zeta": 1, "alpha": 2}',
        '{"zeta": 1, "alpha": 2}',
        '{"prompt": "x", "character": {"visual_prompt": "v", "zz": 1, "aa": 2}}',
    ],
)
def test_http_validation_errors_come_in_the_order_powertools_gave(
    raw: str, api_event: Callable[..., dict[str, Any]], lambda_context: LocalLambdaContext
) -> None:
    ours_app, theirs_app = create_app(), create_app()
    theirs_app._request_validation_middleware = OpenAPIRequestValidationMiddleware()  # type: ignore[no-untyped-call]
    ours, theirs = _served(ours_app), _served(theirs_app)

    answer = ours(api_event("POST", "/stories/segments", raw_body=raw), lambda_context)
    expected = theirs(api_event("POST", "/stories/segments", raw_body=raw), lambda_context)

    assert answer["statusCode"] == expected["statusCode"] == 422
    body, expected_body = json.loads(answer["body"]), json.loads(expected["body"])
    body.pop("request_id", None), expected_body.pop("request_id", None)
    assert body == expected_body


def test_powertools_debug_line_of_the_route_arguments_names_them_without_the_request(
    api_event: Callable[..., dict[str, Any]],
    lambda_context: LocalLambdaContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Powertools 3.x formats the route's arguments into a DEBUG line on every request, whatever
    the level (`_registered_api_adapter`: `logger.debug(f"Calling API Route Handler: {route_args}")`);
    the request model's text (the caller's prompt) is neither built nor written."""
    handler = _served(create_app())
    secret = "a prompt nobody should see in a debug line"

    with caplog.at_level("DEBUG", logger="aws_lambda_powertools.event_handler.api_gateway"):
        answer = handler(api_event("POST", "/stories/segments", body={"prompt": secret}), lambda_context)

    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["prompt"] == secret, "the route still gets the request"
    (line,) = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("Calling API Route Handler")
    ]
    assert line == "Calling API Route Handler: {'request': StorySegmentsRequest}"
