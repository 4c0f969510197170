"""The OpenAPI document: generated from the resolvers, committed, valid, and complete."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel

from contentgen.models import characters, content, ideas, media, memes, stories
from local.openapi import DOCUMENT_PATHS, REQUEST_EXAMPLES, build_document, render
from local.template import routes


@cache
def _document() -> dict[str, Any]:
    return build_document()


def test_committed_copies_match_the_code() -> None:
    """Fails when a model or route changes without `make openapi`."""
    expected = render(_document())
    for path in DOCUMENT_PATHS:
        assert path.read_text(encoding="utf-8") == expected, f"{path.name} drifted: run `make openapi`"


def test_the_document_is_valid_openapi() -> None:
    validate(json.loads(DOCUMENT_PATHS[0].read_text(encoding="utf-8")))


def test_every_template_route_is_documented_with_its_security() -> None:
    paths = _document()["paths"]
    for route in routes():
        operation = paths[route.path][route.method.lower()]
        if route.api_key_required:
            assert "security" not in operation  # the document's default: x-api-key
            assert {"403", "429"} <= set(operation["responses"])
        else:
            assert operation["security"] == []
    scheme = _document()["components"]["securitySchemes"]["ApiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "x-api-key")


def test_posts_take_an_idempotency_key_and_document_every_error() -> None:
    for path, operations in _document()["paths"].items():
        if "post" not in operations:
            continue
        operation = operations["post"]
        assert "Idempotency-Key" in [parameter["name"] for parameter in operation["parameters"]]
        assert {"400", "409", "413", "415", "422", "502", "503", "504"} <= set(operation["responses"]), path
        for status, response in operation["responses"].items():
            if status.startswith("4") or status.startswith("5"):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ApiError"}
        assert "Retry-After" in operation["responses"]["503"]["headers"]


def test_the_error_shape_is_documented_and_powertools_own_is_gone() -> None:
    schemas = _document()["components"]["schemas"]
    assert {"message", "code", "status_code", "request_id", "errors", "partial", "usage"} <= set(
        schemas["ApiError"]["properties"]
    )
    assert "HTTPValidationError" not in schemas
    assert "HTTPValidationError" not in json.dumps(_document()["paths"])


def test_success_statuses_and_models() -> None:
    paths = _document()["paths"]
    assert "202" in paths["/videos"]["post"]["responses"]
    assert paths["/videos"]["post"]["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/VideoJobAccepted"
    }
    assert "StoredResult" in json.dumps(paths["/results/{request_id}"]["get"]["responses"]["200"])
    assert "HealthReport" in json.dumps(paths["/health"]["get"]["responses"]["200"])


REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "/stories/segments": stories.StorySegmentsRequest,
    "/stories/segments/chunked": stories.ChunkedStoryRequest,
    "/stories/segments/sets": stories.StorySetsRequest,
    "/memes/segments": memes.MemeSegmentsRequest,
    "/content": content.ContentRequest,
    "/ideas/trending": ideas.TrendingIdeasRequest,
    "/characters/analyze": characters.CharacterAnalysisRequest,
    "/thumbnails": media.ThumbnailRequest,
    "/videos": media.VideoRequest,
}


@pytest.mark.parametrize("path", sorted(REQUEST_EXAMPLES))
def test_request_examples_are_accepted_by_the_request_model(path: str) -> None:
    body = _document()["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    for example in body["examples"].values():
        REQUEST_MODELS[path].model_validate(example["value"])
