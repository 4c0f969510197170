"""POST /thumbnails over the wire, on both Google backends, stored in (moto's) S3."""

from __future__ import annotations

import urllib.parse
import urllib.request
from typing import Any

import pytest

from contentgen.catalog import default_chain
from local.aws import client
from tests.integration.conftest import Invoke, Stack, assert_refused

pytestmark = pytest.mark.integration

FUNCTION = "GenerateThumbnailFunction"
# The Imagen line (`:predict`), shut down 2026-08-17: its route still refuses without Vertex AI.
RETIRED_IMAGEN = "imagen-4.0-generate-001"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture(params=["vertex-gemini", "developer-gemini"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, stack: Stack) -> str:
    """The catalog's default image model on both Google backends (generateContent)."""
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true" if request.param == "vertex-gemini" else "false")
    monkeypatch.setenv("IMAGE_MODEL", default_chain("image")[0])
    return str(request.param)


def test_image_is_stored_and_a_presigned_url_returned(stack: Stack, invoke: Invoke, backend: str) -> None:
    status, answer = invoke(
        FUNCTION, {"prompt": "A fox in a lighthouse, stormy night", "aspect_ratio": "16:9"}
    )

    assert status == 200, answer
    assert answer["content_type"] == "image/png"
    assert answer["s3_key"].startswith("thumbnails/")
    assert len(answer["s3_key"].rsplit("/", 1)[-1]) >= 22, "the key is not guessable"
    s3 = client("s3", stack.aws_url)
    stored = s3.get_object(Bucket=_bucket(), Key=answer["s3_key"])
    assert stored["ContentType"] == "image/png"
    data = stored["Body"].read()
    assert png_size(data) == (160, 90), "16:9 was honoured"
    with urllib.request.urlopen(answer["image_url"], timeout=30) as response:
        assert response.read() == data
    # SigV4 (SigV2's AWSAccessKeyId/Signature is refused by buckets created since 2020).
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(answer["image_url"]).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["900"]
    assert "Signature" not in query
    assert "AWSAccessKeyId" not in query
    (request,) = stack.provider.requests()
    sent = str(request["body"])
    assert "No text" in sent, "the prompt is shaped for a thumbnail"
    assert request["headers"].get("x-goog-api-key") == stack.google_key


def test_vertical_is_the_default(stack: Stack, invoke: Invoke, backend: str) -> None:
    status, answer = invoke(FUNCTION, {"prompt": "A fox"})

    assert status == 200
    assert answer["aspect_ratio"] == "9:16"


def test_filtered_image_is_422_with_the_reason(stack: Stack, invoke: Invoke, backend: str) -> None:
    stack.provider.faults({"kind": "filtered", "reason": "The prompt was blocked: celebrity likeness."})

    status, answer = invoke(FUNCTION, {"prompt": "A famous actor"})

    assert status == 422
    assert answer["code"] == "content_filtered"
    assert "declined the prompt" in answer["message"]


def test_provider_5xx_is_retried_then_502(stack: Stack, invoke: Invoke, backend: str) -> None:
    stack.provider.faults({"kind": "server_error", "status": 503})
    assert invoke(FUNCTION, {"prompt": "x"})[0] == 200

    stack.provider.faults({"kind": "server_error", "status": 500, "count": 3})
    status, answer = invoke(FUNCTION, {"prompt": "x"})
    assert status == 502
    assert answer["code"] == "provider_unavailable"


def test_imagen_without_vertex_is_a_clear_503(
    stack: Stack, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "false")
    monkeypatch.setenv("IMAGE_MODEL", RETIRED_IMAGEN)

    status, answer = invoke(FUNCTION, {"prompt": "x"})

    assert status == 503
    assert "GOOGLE_GENAI_USE_VERTEXAI" in answer["message"]
    assert stack.provider.requests() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "prompt"),
        ({"prompt": "x", "aspect_ratio": "4:3"}, "aspect_ratio"),
        ({"prompt": "x", "n": 2}, "n"),
    ],
)
def test_invalid_input_names_the_field(
    stack: Stack, invoke: Invoke, body: dict[str, Any], field: str
) -> None:
    assert_refused(invoke, stack, FUNCTION, body, field)


def _bucket() -> str:
    from local.template import physical_name

    return physical_name("MediaBucket")


def test_a_queued_thumbnails_result_gets_a_url_signed_at_each_read(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`GET /results/{request_id}` of a thumbnail made from a queue, read after its stored URL's
    lifetime, still answers a URL that works: signed at the read, with `expires_in` from then."""
    import json
    import os
    import uuid

    from contentgen.config import get_settings
    from local.event_sources import sqs_event
    from local.lambda_context import LocalLambdaContext
    from local.runtime import load_handler
    from local.template import functions
    from tests.conftest import load_event

    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("PRESIGNED_URL_TTL_SECONDS", "900")
    request_id = f"thumb-{uuid.uuid4().hex[:8]}"
    body = json.dumps({"request_id": request_id, "request": {"prompt": "A lighthouse at dusk"}})
    message = {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": "r",
        "Body": body,
        "Attributes": {"ApproximateReceiveCount": "1"},
    }
    event = sqs_event([message], "arn:aws:sqs:us-east-1:123456789012:contentgen-GenerateThumbnailQueue")
    handler = load_handler(functions()[FUNCTION])
    assert handler(event, LocalLambdaContext(function_name=FUNCTION)) == {"batchItemFailures": []}

    monkeypatch.setenv("PRESIGNED_URL_TTL_SECONDS", "3600")
    get_settings.cache_clear()
    read = load_event("get_result.json")
    read["path"] = f"/results/{request_id}"
    read["pathParameters"] = {"request_id": request_id}
    read["requestContext"]["identity"]["apiKeyId"] = os.environ["PIPELINE_API_KEY_ID"]  # the key charged
    reader = load_handler(functions()["GetResultFunction"])
    response = reader(read, LocalLambdaContext(function_name="GetResultFunction"))

    assert response["statusCode"] == 200, response["body"]
    stored = json.loads(response["body"])["result"]
    assert stored["expires_in"] == 3600
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(stored["image_url"]).query)
    assert query["X-Amz-Expires"] == ["3600"], "signed at the read, not the stored URL"
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    with urllib.request.urlopen(stored["image_url"], timeout=30) as image:
        assert image.read()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(stack.provider.requests()) == 1
