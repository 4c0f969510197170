"""The whole-body fast path of request validation (`api._validated_body`) only for a route whose
body parameter takes the whole body: an `embed=True` parameter is validated by Powertools, under
its own name, however many resolvers the process has built before (the answer is remembered per
field object, which is kept: a field freed and another allocated at its address must not inherit
its answer)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from contentgen.entrypoints.api import create_app


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str


def _event(body: Any) -> dict[str, Any]:
    return {
        "httpMethod": "POST",
        "path": "/x",
        "resource": "/x",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "requestContext": {"requestId": "r", "stage": "prod", "identity": {}},
        "body": json.dumps(body),
        "isBase64Encoded": False,
        "queryStringParameters": None,
        "pathParameters": None,
    }


def test_whole_body_and_embedded_routes_each_validate_their_own_shape(
    lambda_context: LambdaContext,
) -> None:
    for _ in range(3):  # resolvers built and dropped in turn, as tests do
        whole = create_app()

        @whole.post("/x")
        def whole_route(request: Annotated[_Model, Body(embed=False)]) -> Any:
            return {"got": request.prompt}

        embedded = create_app()

        @embedded.post("/x")
        def embedded_route(request: Annotated[_Model, Body(embed=True)]) -> Any:
            return {"got": request.prompt}

        assert whole.resolve(_event({"prompt": "w"}), lambda_context)["statusCode"] == 200
        assert embedded.resolve(_event({"request": {"prompt": "e"}}), lambda_context)["statusCode"] == 200
        assert whole.resolve(_event({"request": {"prompt": "e"}}), lambda_context)["statusCode"] == 422
        assert embedded.resolve(_event({"prompt": "w"}), lambda_context)["statusCode"] == 422
