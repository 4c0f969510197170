"""API Gateway's own answers, as template.yaml's `GatewayResponses` declare them.

The local gateway answers missing or invalid keys, unknown routes, oversized requests and failed
or timed-out integrations itself, the way API Gateway does: with the status, headers and body
of the gateway response of that type declared on the `AWS::Serverless::Api` (one source for
both). Undeclared types fall back to DEFAULT_4XX / DEFAULT_5XX, then to API Gateway's default
answer. A response template's `$context.requestId`, `$context.error.messageString` (the message
JSON-quoted), `$context.error.message` and `$context.error.responseType` are substituted, and
header mappings `context.requestId`, `'static'` and `method.request.header.<name>` resolved.

Types, default statuses and messages:
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache

from local.template import resources_of_type

# API Gateway's default status and message for the types the local gateway answers.
DEFAULTS: dict[str, tuple[int, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "INVALID_API_KEY": (403, "Forbidden"),
    "THROTTLED": (429, "Too Many Requests"),
    "QUOTA_EXCEEDED": (429, "Limit Exceeded"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out"),
    "INTEGRATION_FAILURE": (504, "Internal server error"),
    "BAD_REQUEST_BODY": (400, "Invalid request body"),
    "BAD_REQUEST_PARAMETERS": (400, "Invalid request parameters"),
    "UNAUTHORIZED": (401, "Unauthorized"),
    "ACCESS_DENIED": (403, "Forbidden"),
    "RESOURCE_NOT_FOUND": (404, "Not Found"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "Unsupported Media Type"),
    "API_CONFIGURATION_ERROR": (500, "Internal server error"),
}


@dataclass(frozen=True)
class GatewayResponse:
    """One declared gateway response: status (None: the type's default), header mappings, body."""

    response_type: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    template: str | None = None


@cache
def declared() -> dict[str, GatewayResponse]:
    """The `GatewayResponses` of the template's REST API, by response type."""
    found: dict[str, GatewayResponse] = {}
    for api in resources_of_type("AWS::Serverless::Api").values():
        for response_type, spec in (api["Properties"].get("GatewayResponses") or {}).items():
            parameters = spec.get("ResponseParameters") or {}
            templates = spec.get("ResponseTemplates") or {}
            found[response_type] = GatewayResponse(
                response_type=response_type,
                status=int(spec["StatusCode"]) if "StatusCode" in spec else None,
                headers={str(k): str(v) for k, v in (parameters.get("Headers") or {}).items()},
                template=templates.get("application/json"),
            )
    return found


def _header_value(mapping: str, request_id: str, request_headers: dict[str, str]) -> str | None:
    if mapping == "context.requestId":
        return request_id
    if mapping.startswith("'") and mapping.endswith("'"):
        return mapping[1:-1]
    if mapping.startswith("method.request.header."):
        return request_headers.get(mapping.removeprefix("method.request.header.").lower())
    return None


def render(
    response_type: str,
    request_id: str,
    request_headers: dict[str, str] | None = None,
    message: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of API Gateway's answer of `response_type` for this request.

    `message` replaces the type's default message (what `$context.error.message` holds)."""
    default_status, default_message = DEFAULTS.get(response_type, (500, "Internal server error"))
    text = message or default_message
    responses = declared()
    family = "DEFAULT_4XX" if default_status < 500 else "DEFAULT_5XX"
    spec = responses.get(response_type) or responses.get(family)
    if spec is None:
        body = json.dumps({"message": text}).encode()
        return default_status, {"Content-Type": "application/json"}, body
    status = spec.status or (responses[family].status if family in responses else None) or default_status
    headers = {"Content-Type": "application/json"}
    for name, mapping in spec.headers.items():
        value = _header_value(mapping, request_id, request_headers or {})
        if value is not None:
            headers[name] = value
    if spec.template is None:
        return status, headers, json.dumps({"message": text}).encode()
    rendered = (
        spec.template.replace("$context.requestId", request_id)
        .replace("$context.error.messageString", json.dumps(text))
        .replace("$context.error.message", text)
        .replace("$context.error.responseType", response_type)
    )
    return status, headers, rendered.encode()
