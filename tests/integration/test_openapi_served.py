"""The OpenAPI document is served without a key (deployed function and local API) and Swagger UI
at /docs on the local stack, from packaged assets."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from local.lambda_context import LocalLambdaContext
from local.openapi import DOCUMENT_PATHS
from local.runtime import load_handler
from local.template import functions
from tests.conftest import load_event
from tests.integration.conftest import Stack
from tests.integration.test_storyboard import chromium

pytestmark = pytest.mark.integration

COMMITTED = json.loads(DOCUMENT_PATHS[0].read_text(encoding="utf-8"))


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


def test_the_function_serves_the_packaged_document(stack: Stack) -> None:
    handler = load_handler(functions()["OpenApiFunction"])

    response = handler(load_event("openapi.json"), LocalLambdaContext(function_name="OpenApiFunction"))

    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == COMMITTED


def test_the_local_api_serves_the_document_without_a_key_and_swagger_ui(local_api: str) -> None:
    status, content_type, body = get(f"{local_api}/openapi.json")
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == COMMITTED

    status, content_type, page = get(f"{local_api}/docs")
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert b'url: "/openapi.json"' in page
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        status, _, data = get(f"{local_api}/docs/{asset}")
        assert status == 200
        assert len(data) > 1000


@pytest.mark.slow  # headless Chromium
def test_swagger_ui_renders_the_document_in_a_browser(local_api: str, tmp_path: Path) -> None:
    dom = chromium(f"{local_api}/docs", tmp_path / "profile", "--dump-dom")

    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Unable to render" not in dom.stdout
    assert "/stories/segments/chunked" in dom.stdout  # the operations are listed
    assert [line for line in dom.stderr.splitlines() if ":CONSOLE" in line] == []
