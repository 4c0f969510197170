"""`api._ResponseBuilder` skips Powertools' route options (CORS, Cache-Control, compression) only
where they would do nothing: for every combination, the response is the one Powertools' own
`ResponseBuilder` builds."""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools.event_handler import CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder, Route
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from contentgen.entrypoints.api import _ResponseBuilder


def _route(*, cors: bool, cache_control: str | None, compress: bool) -> Route:
    return Route(
        method="POST",
        path="/x",
        rule=re.compile("^/x$"),
        func=lambda: None,
        cors=cors,
        compress=compress,
        cache_control=cache_control,
    )


def _event(accept_encoding: str | None, origin: str | None) -> APIGatewayProxyEvent:
    headers = {
        name: value for name, value in (("Accept-Encoding", accept_encoding), ("Origin", origin)) if value
    }
    return APIGatewayProxyEvent(
        {
            "httpMethod": "POST",
            "path": "/x",
            "headers": headers,
            "multiValueHeaders": {name: [value] for name, value in headers.items()},
            "body": None,
            "isBase64Encoded": False,
            "requestContext": {"requestId": "r"},
        }
    )


def _built(builder: type[ResponseBuilder[Any]], options: dict[str, Any]) -> dict[str, Any]:
    response: Response[Any] = Response(
        status_code=options["status"],
        content_type=content_types.APPLICATION_JSON,
        body={"text": "x" * 50},
        compress=options["response_compress"],
    )
    route = _route(
        cors=options["cors"], cache_control=options["cache_control"], compress=options["route_compress"]
    )
    cors = CORSConfig(allow_origin="https://example.com") if options["cors"] else None
    return builder(response=response, serializer=json.dumps, route=route).build(
        _event(options["accept_encoding"], options["origin"]), cors
    )


@settings(max_examples=200, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "status": st.sampled_from([200, 404]),
            "cors": st.booleans(),
            "cache_control": st.none() | st.just("max-age=60"),
            "route_compress": st.booleans(),
            "response_compress": st.none() | st.booleans(),
            "accept_encoding": st.none() | st.sampled_from(["gzip", "br", "gzip, deflate"]),
            "origin": st.none() | st.sampled_from(["https://example.com", "https://other.example"]),
        }
    )
)
def test_every_combination_builds_what_powertools_builds(options: dict[str, Any]) -> None:
    assert _built(_ResponseBuilder, options) == _built(ResponseBuilder, options)


def test_a_compressing_route_still_compresses_for_gzip() -> None:
    options = {
        "status": 200,
        "cors": False,
        "cache_control": None,
        "route_compress": True,
        "response_compress": None,
        "accept_encoding": "gzip",
        "origin": None,
    }

    built = _built(_ResponseBuilder, options)

    assert built["isBase64Encoded"] is True
    assert built["multiValueHeaders"]["Content-Encoding"] == ["gzip"]
