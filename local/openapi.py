"""One OpenAPI 3.1 document for the whole API, generated from the functions' own resolvers.

Powertools builds a document per resolver (`app.get_openapi_schema()`); this module loads every
function the template routes (`local.template.routes()`), merges their paths and component schemas,
and adds what only the whole API knows:

- the API-key security scheme (`x-api-key` header), dropped on the routes the template opens
  (`ApiKeyRequired: false`: `/health`, `/openapi.json`);
- every error answer with its JSON shape (`contentgen.models.http.ApiError`) in place of
  Powertools' own validation-error schema, which the layer never answers with;
- the `Idempotency-Key` request header on every POST, `Retry-After` on 409/429/503;
- request examples.

`python -m local.openapi` (`make openapi`) writes `openapi.json` at the repository root and the copy
packaged with the `openapi` function (`functions/openapi/openapi.json`); a test fails when either
drifts from the code. OpenAPI 3.1: https://spec.openapis.org/oas/v3.1.0
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from local.runtime import SHARED, load_handler
from local.template import ROOT, Route, functions, routes

DOCUMENT_PATHS = (ROOT / "openapi.json", ROOT / "functions" / "openapi" / "openapi.json")
TITLE = "contentgen"
DESCRIPTION = (
    "Content generation for short-form video creators: stories split into narrated segments, memes, "
    "free-form text, trending ideas, character analysis (OpenRouter), thumbnails and videos (Google "
    "GenAI). Send the API key in `x-api-key`. Every error is JSON: "
    '`{"message", "code", "status_code", "request_id", "errors"?, "partial"?}`.'
)
SECURITY_SCHEME = "ApiKey"
ERROR_REF = {"$ref": "#/components/schemas/ApiError"}
# Powertools' own validation-error models: contentgen answers validation errors as ApiError.
POWERTOOLS_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
ERRORS: dict[int, tuple[str, str, str]] = {
    # status: (description, example code, example message)
    400: ("The body is not valid JSON.", "invalid_json", "request body is not valid JSON"),
    403: (
        "API Gateway: the x-api-key header is missing, misspelt, or not an enabled key of the usage plan.",
        "forbidden",
        "Forbidden: no valid API key in the x-api-key header. Check that the header is sent, that the key "
        "is spelled exactly as issued (no spaces or quotes), and that it is enabled and in a usage plan "
        "of this API and stage.",
    ),
    404: ("No such job, result or route.", "not_found", "no result for request 3f2a"),
    409: (
        "The Idempotency-Key was used for another body, or its first request is still running "
        "(then with Retry-After).",
        "conflict",
        "'k-1' was already used for a different request",
    ),
    413: ("The request body is too large.", "payload_too_large", "request body is too large"),
    415: (
        "The body is not sent as application/json.",
        "unsupported_media_type",
        "Content-Type must be application/json",
    ),
    422: (
        "The body breaks the contract (`errors[].field` names each field), or the model or safety "
        "filter declined (`content_filtered`, in the provider's words).",
        "invalid_request",
        "invalid request: segment_count: Input should be less than or equal to 50",
    ),
    429: (
        "API Gateway: over the key's rate or daily quota; or the key's daily spend budget cannot hold "
        "the request (`budget_exceeded`, Retry-After until 00:00 UTC; nothing was paid; for "
        "`POST /videos` the message names the video's estimate and no job was started).",
        "too_many_requests",
        "Too Many Requests",
    ),
    502: (
        "The provider kept failing, rejected the request or key, or its output failed validation twice.",
        "provider_error",
        "provider error: upstream answered 500",
    ),
    503: (
        "The provider kept rate limiting or its circuit is open (with Retry-After), a key could not "
        "be read, the configuration is invalid, or the idempotency store could not be used "
        "(`idempotency_unavailable`, with Retry-After; nothing was run).",
        "provider_rate_limited",
        "provider is rate limiting; retry later",
    ),
    504: ("The provider did not answer in time.", "provider_timeout", "provider did not answer in time"),
}
WITH_RETRY_AFTER = {409, 429, 503}
# Which errors each kind of operation can answer (besides the gateway's 403/429 on keyed routes).
POST_ERRORS = (400, 409, 413, 415, 422, 502, 503, 504)
LOOKUP_ERRORS = (404, 422, 503)

CHARACTER_EXAMPLE = {
    "name": "Pip",
    "visual_prompt": "a small round copper robot with one big blue camera eye and a paint-stained apron",
}
REQUEST_EXAMPLES: dict[str, dict[str, Any]] = {
    "/stories/segments": {
        "prompt": "a robot learns to paint",
        "segment_count": 6,
        "style": "cozy, hopeful",
        "language": "en",
    },
    "/stories/segments/chunked": {"prompt": "a lighthouse keeper's last winter", "segment_count": 40},
    "/stories/segments/sets": {"prompt": "a cat runs a bakery", "set_count": 3, "segments_per_set": 5},
    "/memes/segments": {"prompt": "when the code works on the first try", "segment_count": 4},
    "/content": {"prompt": "Write a 3-line caption for a video about sourdough", "max_tokens": 300},
    "/ideas/trending": {"niche": "home cooking", "idea_count": 5, "region": "US"},
    "/characters/analyze": {"image_url": "https://example.com/pip.png"},
    "/thumbnails": {"prompt": "a robot painting a sunset", "aspect_ratio": "9:16"},
    "/videos": {"prompt": "a paper boat sailing down a rainy street", "aspect_ratio": "9:16"},
}
# Where a character may be passed (the look carried into every visual_prompt).
CHARACTER_PATHS = ("/stories/segments", "/memes/segments", "/thumbnails")


def _resolver_documents() -> list[dict[str, Any]]:
    """Each routed function's own document, as Powertools generates it from its resolver."""
    if SHARED not in sys.path:
        sys.path.insert(0, SHARED)
    routed = {route.function for route in routes()}
    documents = []
    for logical_id, spec in sorted(functions().items()):
        if logical_id not in routed:
            continue
        load_handler(spec)
        module = sys.modules[f"contentgen_function_{spec.code_dir.name}"]
        documents.append(json.loads(module.app.get_openapi_json_schema()))
    return documents


def _error_schema() -> dict[str, dict[str, Any]]:
    """ApiError and FieldError as JSON Schema components (from the layer's models)."""
    from pydantic.json_schema import models_json_schema

    from contentgen.models.http import ApiError

    _, schemas = models_json_schema(
        [(ApiError, "serialization")], ref_template="#/components/schemas/{model}"
    )
    defs: dict[str, dict[str, Any]] = schemas["$defs"]
    return defs


def _error_response(status: int) -> dict[str, Any]:
    description, code, message = ERRORS[status]
    example: dict[str, Any] = {"message": message}
    if status not in (403, 429):  # API Gateway's own answers carry only a message
        example.update(code=code, status_code=status, request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef")
    if status == 422:
        example["errors"] = [
            {"field": "segment_count", "message": "Input should be less than or equal to 50"}
        ]
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": ERROR_REF, "example": example}},
    }
    if status in WITH_RETRY_AFTER:
        response["headers"] = RETRY_AFTER
    return response


def _idempotency_header() -> dict[str, Any]:
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": (
            "Any string (an empty one is ignored); a repeat with the same key and body gets the first "
            "answer without a second provider call (kept a day). The same key with another body is a 409."
        ),
        "schema": {"type": "string"},
        "example": "3c1e7f0a-5a1b-4d1e-9c6e-2f9b8f1a7d42",
    }


def _decorate(path: str, method: str, operation: dict[str, Any], route: Route) -> None:
    """Security, error responses, the idempotency header and examples of one operation."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if not route.api_key_required:
        operation["security"] = []
    if "422" in responses and "HTTPValidationError" in json.dumps(responses["422"]):
        del responses["422"]
    if method == "post":
        statuses: tuple[int, ...] = POST_ERRORS
        operation.setdefault("parameters", []).append(_idempotency_header())
        for success in [code for code in responses if code.startswith("2")]:
            responses[success].setdefault("headers", {})["Idempotency-Key"] = {
                "description": "Echoed when the request carried one.",
                "schema": {"type": "string"},
            }
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None and path in REQUEST_EXAMPLES:
            examples = {"basic": {"summary": "A typical request", "value": REQUEST_EXAMPLES[path]}}
            if path in CHARACTER_PATHS:
                examples["with_character"] = {
                    "summary": "Keep a character's look in every visual_prompt",
                    "value": {**REQUEST_EXAMPLES[path], "character": CHARACTER_EXAMPLE},
                }
            body["examples"] = examples
    elif "{" in path:
        statuses = LOOKUP_ERRORS
    else:
        statuses = ()
    if route.api_key_required:
        statuses = (*statuses, 403, 429)
    for status in sorted(statuses):
        responses.setdefault(str(status), _error_response(status))
    for code, response in responses.items():
        # An error status a route documents with its own body (e.g. /health's degraded report) may
        # still be answered by the layer's error mapping (e.g. an invalid configuration).
        media = response.get("content", {}).get("application/json")
        if code[0] in "45" and media is not None and media.get("schema") != ERROR_REF:
            media["schema"] = {"anyOf": [media["schema"], ERROR_REF]}
    operation["responses"] = dict(sorted(responses.items()))


def _catalog_capabilities(schemas: dict[str, Any]) -> None:
    """`x-allowed-values` on the video request's duration and aspect ratio: what the model catalog's
    default chain of each Google backend can make (`default_chain("video")` on Vertex AI,
    `default_chain("video_gemini_api")` on the Gemini Developer API; a value any model of the
    chain takes is accepted, the chain narrowed to the models that can). The configured chain is
    checked at request time (422 naming the field and the allowed values)."""
    from contentgen.catalog import default_chain, find_model

    video = schemas.get("VideoRequest", {}).get("properties", {})
    for field, attribute in (("duration_seconds", "durations"), ("aspect_ratio", "aspect_ratios")):
        if field not in video:
            continue
        allowed: dict[str, list[Any]] = {}
        for backend, use in (("vertex_ai", "video"), ("gemini_api", "video_gemini_api")):
            values: set[Any] = set()
            for model in default_chain(use):
                entry = find_model(model)
                if entry is not None and entry.video is not None:
                    values.update(getattr(entry.video, attribute))
            allowed[backend] = sorted(values, key=lambda v: (isinstance(v, str), v))
        video[field]["x-allowed-values"] = allowed


def build_document() -> dict[str, Any]:
    """The merged document (a dict, ready for `json.dumps`)."""
    documents = _resolver_documents()  # puts the layer on sys.path
    from contentgen import __version__

    served = {(route.method.lower(), route.path): route for route in routes()}
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for document in documents:
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                route = served.get((method, path))
                if route is None:
                    raise ValueError(
                        f"{method.upper()} {path} is in a resolver but not routed by template.yaml"
                    )
                _decorate(path, method, operation, route)
                paths.setdefault(path, {})[method] = operation
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            if name in POWERTOOLS_ERROR_SCHEMAS:
                continue
            if name in schemas and schemas[name] != schema:
                raise ValueError(f"two functions declare different schemas named {name}")
            schemas[name] = schema
    missing = {f"{method.upper()} {path}" for method, path in served} - {
        f"{method.upper()} {path}" for path, operations in paths.items() for method in operations
    }
    if missing:
        raise ValueError(f"routes without a resolver operation: {sorted(missing)}")
    schemas.update(_error_schema())
    _catalog_capabilities(schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": __version__, "description": DESCRIPTION},
        "security": [{SECURITY_SCHEME: []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-api-key",
                    "description": "The API key of the usage plan (stack output ApiKeyId).",
                }
            },
        },
    }


def render(document: dict[str, Any]) -> str:
    """The committed text: sorted by path, two-space indent, trailing newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate the API's OpenAPI document.")
    parser.add_argument("--check", action="store_true", help="fail if a committed copy differs")
    args = parser.parse_args()
    text = render(build_document())
    for target in DOCUMENT_PATHS:
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                raise SystemExit(f"{target.relative_to(ROOT)} is out of date: run `make openapi`")
            continue
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
