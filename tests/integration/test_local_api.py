"""The local API Gateway serves the template's routes over HTTP and invokes the handlers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from local.api_gateway import LocalApiServer
from local.runtime import LocalRuntime
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration


@pytest.fixture
def api(stack: Stack) -> Iterator[LocalApiServer]:
    server = LocalApiServer(LocalRuntime()).start()
    yield server
    server.shutdown()


def call(api: LocalApiServer, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{api.url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_story_segments_over_http(api: LocalApiServer, stack: Stack) -> None:
    status, body = call(
        api, "POST", "/stories/segments", {"prompt": "A robot learns to paint", "segment_count": 3}
    )

    assert status == 200
    assert [segment["index"] for segment in body["segments"]] == [1, 2, 3]


def test_health_over_http(api: LocalApiServer) -> None:
    status, body = call(api, "GET", "/health")

    assert status == 200
    assert body["status"] == "ok"


def test_unserved_method_and_unknown_route_are_4xx(api: LocalApiServer) -> None:
    assert call(api, "GET", "/stories/segments")[0] == 405
    assert call(api, "POST", "/nowhere", {})[0] == 403


def test_invalid_body_over_http_names_the_field(api: LocalApiServer) -> None:
    status, body = call(api, "POST", "/stories/segments", {"prompt": "x", "segment_count": 0})

    assert status == 422
    assert body["errors"][0]["field"] == "segment_count"
