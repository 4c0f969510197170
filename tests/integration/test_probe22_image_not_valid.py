"""Probe 22 (issue 22 item 13: the caller's `image_url` is the caller's fault, 422 naming it).

A URL that serves something that is not an image (an HTML page, a 404 page, a redirect to a
login) is fetched fine by the provider and then refused: Gemini answers 400 INVALID_ARGUMENT
"Provided image is not valid" (AmberSahdev/Open-Interface#64), relayed by OpenRouter as
"Provider returned error" with the reason in `metadata.raw` (musistudio/claude-code-router#845,
tailcallhq/forgecode#2305 show the relay shape). It is the caller's URL: it should be a 422
naming `image_url`, as a download failure is, not a 502 the caller is told to retry.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import Invoke, Stack

pytestmark = pytest.mark.integration

CHARACTER = "AnalyzeCharacterFunction"


def test_an_image_url_that_is_not_an_image_is_422_naming_image_url(stack: Stack, invoke: Invoke) -> None:
    raw = {"error": {"code": 400, "message": "Provided image is not valid", "status": "INVALID_ARGUMENT"}}
    body = {
        "error": {
            "message": "Provider returned error",
            "code": 400,
            "metadata": {"raw": json.dumps(raw), "provider_name": "Google"},
        }
    }
    stack.provider.faults({"kind": "raw", "target": "openai", "status": 400, "body": body})

    status, answer = invoke(CHARACTER, {"image_url": "https://images.example.com/not-an-image.html"})

    assert status == 422, answer
    assert [error["field"] for error in answer.get("errors", [])] == ["image_url"], answer
