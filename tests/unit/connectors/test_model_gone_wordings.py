"""Google's own words for a retired model, as public reports quote them, are "model gone".

The connector only knows two phrasings ("models/X is not found for API version ..." and Vertex's
"Publisher Model ... was not found"). When Google retires a Gemini API model it answers a third
one, HTTP 404 NOT_FOUND "This model models/X is no longer available. Please update your code to
use a newer model for the latest features and improvements." (continuedev/continue#12720,
2026-06-17, gemini-3-pro-preview) or "This model models/X is no longer available to new users."
(sohzm/cheating-daddy#444, 2026-07-20, gemini-2.5-flash). Issue 21 item 5: such an answer is
MODEL_GONE (not retried, next model of the chain, remembered), not a rejected request (502 after
one attempt, no fallback).
"""

from __future__ import annotations

import httpx2
import pytest
from google.genai import errors as genai_errors

from contentgen.connectors.genai_connector import classify_genai_error
from contentgen.core.retry import FailureKind


def _google_404(message: str, path: str) -> genai_errors.APIError:
    body = {"error": {"code": 404, "message": message, "status": "NOT_FOUND"}}
    request = httpx2.Request("POST", f"https://generativelanguage.googleapis.com/v1beta/{path}")
    return genai_errors.APIError(404, body, httpx2.Response(404, request=request, json=body))


@pytest.mark.parametrize(
    ("message", "model", "path"),
    [
        (
            "This model models/gemini-3-pro-preview is no longer available. Please update your code "
            "to use a newer model for the latest features and improvements.",
            "gemini-3-pro-preview",
            "models/gemini-3-pro-preview:generateContent",
        ),
        (
            "This model models/gemini-2.5-flash-image is no longer available to new users. Please "
            "update your code to use a newer model for the latest features and improvements.",
            "gemini-2.5-flash-image",
            "models/gemini-2.5-flash-image:generateContent",
        ),
    ],
    ids=["no-longer-available", "no-longer-available-to-new-users"],
)
def test_googles_retirement_404_is_model_gone(message: str, model: str, path: str) -> None:
    failure = classify_genai_error(_google_404(message, path))

    assert failure is not None
    assert failure.kind is FailureKind.MODEL_GONE, (failure.kind, message)
    assert failure.model == model
