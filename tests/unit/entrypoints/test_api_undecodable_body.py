"""A base64 body that is not UTF-8 is a 400, not Powertools' UnicodeDecodeError (a 500).

aws-lambda-powertools 3.37.0: `BaseProxyEvent.decoded_body` decodes without handling the error.
The one workaround: the adapter reads and decodes every body itself (`contentgen.entrypoints.request_body`)
before Powertools sees it, so a route reading `json_body` never meets undecodable bytes."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from contentgen.entrypoints.api import create_app, lambda_entrypoint
from local.lambda_context import LocalLambdaContext


def test_a_body_that_is_not_utf8_is_400_invalid_encoding(api_event: Callable[..., dict[str, Any]]) -> None:
    app = create_app()

    @app.post("/echo")
    def echo() -> dict[str, Any]:
        return {"body": app.current_event.json_body}

    event = api_event("POST", "/echo", {})
    event["body"] = base64.b64encode(b"\xffL").decode()
    event["isBase64Encoded"] = True

    handler: Callable[[Any, Any], Any] = lambda_entrypoint(app)
    response = handler(event, LocalLambdaContext(function_name="f", timeout_seconds=10))

    assert response["statusCode"] == 400
    assert json.loads(response["body"])["code"] == "invalid_encoding"
