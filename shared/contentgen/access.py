"""API-key checks for routes that API Gateway leaves open but that must not be (deep health).

API Gateway only validates `x-api-key` on methods that require a key, and `GET /health` must stay
open for uptime checks; `GET /health?deep=true` calls the providers, so it checks the key itself
against the keys of the API's usage plan (`API_USAGE_PLAN_ID`), read once per container per
`KEYS_CACHE_SECONDS` through `apigateway:GET` on that usage plan's keys; a key counts only while
it is enabled (`GetApiKey`, `apigateway:GET` on `/apikeys/<id>`).
"""

from __future__ import annotations

import hmac
import threading
import time
from typing import Any

from contentgen.config import get_settings
from contentgen.errors import ConfigurationError, ForbiddenError

KEYS_CACHE_SECONDS = 300.0

_lock = threading.Lock()
_cached: tuple[float, frozenset[str]] | None = None


def _usage_plan_keys(plan_id: str) -> frozenset[str]:
    global _cached
    with _lock:
        if _cached is not None and time.monotonic() - _cached[0] < KEYS_CACHE_SECONDS:
            return _cached[1]
    from contentgen.connectors.aws import get_apigateway_client

    client = get_apigateway_client()
    values: set[str] = set()
    for page in client.get_paginator("get_usage_plan_keys").paginate(usagePlanId=plan_id):
        for item in page.get("items", []):
            # A usage plan key has no `enabled` (UsagePlanKey: id, type, value, name): the API key
            # itself says whether it is disabled (GetApiKey, without its value).
            if item.get("value") and _enabled(client, item["id"]):
                values.add(item["value"])
    keys = frozenset(values)
    with _lock:
        _cached = (time.monotonic(), keys)
    return keys


def _enabled(client: Any, key_id: str) -> bool:
    """Whether API key `key_id` is enabled (a disabled key is refused by API Gateway too)."""
    return bool(client.get_api_key(apiKey=key_id, includeValue=False).get("enabled", False))


def reset_key_cache() -> None:
    global _cached
    with _lock:
        _cached = None


def require_api_key(presented: str | None) -> None:
    """Pass when `presented` is one of the usage plan's keys; else 403 (never says which keys exist)."""
    plan_id = get_settings().api_usage_plan_id
    if plan_id is None:
        raise ConfigurationError("service misconfigured: environment variable API_USAGE_PLAN_ID is not set")
    if not presented:
        raise ForbiddenError("this check needs an API key in the x-api-key header")
    try:
        keys = _usage_plan_keys(plan_id)
    except ConfigurationError:
        raise
    except Exception as exc:
        raise ConfigurationError(
            f"could not read the API keys of usage plan {plan_id} ({type(exc).__name__})"
        ) from None
    # Compared as UTF-8 bytes: `hmac.compare_digest` raises TypeError on non-ASCII str (a header
    # anyone can send on the open route), https://docs.python.org/3/library/hmac.html
    given = presented.encode("utf-8", "surrogateescape")
    if not any(hmac.compare_digest(given, key.encode("utf-8", "surrogateescape")) for key in keys):
        raise ForbiddenError("the API key in x-api-key is not valid for this API")
