"""The body `read_request` writes into the proxy event as canonical JSON is known already, parsed:
request validation takes that value (`api._key_sorted`) instead of parsing the text again. It must
be exactly what parsing the text gives, key order included (unknown fields are reported in it)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

from contentgen.entrypoints.api import _key_sorted, create_app, read_request
from contentgen.entrypoints.request_body import canonical_json

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=5),
    max_leaves=30,
)


def _pairs(text: str) -> Any:
    return json.loads(text, object_pairs_hook=list)


@settings(max_examples=400, deadline=None)
@given(_json_values)
def test_the_known_value_is_what_the_canonical_text_parses_to(value: Any) -> None:
    # `json.loads` of what `json.loads` parsed: every value `read_request` can hold.
    parsed = json.loads(json.dumps(value))

    known = _key_sorted(parsed)

    again = json.loads(canonical_json(parsed))
    assert _pairs(json.dumps(known)) == _pairs(json.dumps(again))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str


def _event(body: str) -> dict[str, Any]:
    return {
        "httpMethod": "POST",
        "path": "/x",
        "resource": "/x",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "requestContext": {"requestId": "r", "stage": "prod", "identity": {}},
        "body": body,
        "isBase64Encoded": False,
    }


def _app() -> Any:
    app = create_app()

    @app.post("/x")
    def route(request: Annotated[_Model, Body(embed=False)]) -> Any:
        return {"got": request.prompt}

    return app


def test_a_request_read_by_the_entry_point_is_not_parsed_again(
    lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def parse_again(self: Any, app: Any) -> Any:
        raise AssertionError("the body was parsed again")

    monkeypatch.setattr(OpenAPIRequestValidationMiddleware, "_parse_json_data", parse_again)
    proxy, _ = read_request(_event('{"prompt": "a fox", "zeta": 1, "alpha": 2}'), direct_route=None)

    answer = _app().resolve(proxy, lambda_context)

    assert answer["statusCode"] == 422
    # Unknown fields in sorted order, as from the canonical text.
    assert [error["field"] for error in json.loads(answer["body"])["errors"]] == ["alpha", "zeta"]


def test_any_other_body_is_parsed_by_powertools(lambda_context: LambdaContext) -> None:
    read_request(_event('{"prompt": "remembered"}'), direct_route=None)  # another body known

    answer = _app().resolve(_event('{"prompt": "sent"}'), lambda_context)

    assert json.loads(answer["body"])["got"] == "sent"
