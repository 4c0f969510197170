"""The id of an API key presented in `x-api-key`, looked up among moto's API Gateway keys.

API Gateway puts that id in the proxy event (`requestContext.identity.apiKeyId`); the local
gateway does the same, so spend is charged per key locally as in AWS (`contentgen.stores.ledger`).
"""

from __future__ import annotations

import os
import threading

from local.aws import client

_lock = threading.Lock()
_ids: dict[str, str] = {}


def api_key_id(value: str | None, endpoint: str | None = None) -> str | None:
    """The id of the enabled key whose value is `value` (None: no such key, or no local AWS), looked
    up at `endpoint` (default: `AWS_ENDPOINT_URL`, set inside the local stack)."""
    endpoint = endpoint or os.environ.get("AWS_ENDPOINT_URL")
    if not value or not endpoint:
        return None
    with _lock:
        if value not in _ids:
            apigateway = client("apigateway", endpoint)
            for page in apigateway.get_paginator("get_api_keys").paginate(includeValues=True):
                for key in page.get("items", []):
                    if key.get("enabled") and key.get("value"):
                        _ids[key["value"]] = key["id"]
        return _ids.get(value)
