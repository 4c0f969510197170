"""API-key checks for routes that API Gateway leaves open but that must not be (deep health).

API Gateway only validates `x-api-key` on methods that require a key, and `GET /health` must stay
open for uptime checks; `GET /health?deep=true` calls the providers, so it checks the key itself
against the keys of the API's usage plan (`API_USAGE_PLAN_ID`), listed once per container per
`KEYS_CACHE_SECONDS` through `apigateway:GET` on that usage plan's keys; the presented key counts
only while it is enabled (`GetApiKey`, `apigateway:GET` on `/apikeys/<id>`, read for that key and
kept `KEY_STATE_SECONDS`): a key disabled or added in API Gateway is seen within 30 seconds.
"""

from __future__ import annotations

import hmac
import threading
import time

from contentgen.clients.aws import get_apigateway_client
from contentgen.config import get_settings
from contentgen.errors import ConfigurationError, ForbiddenError

# The usage plan's keys (value -> key id) are listed once per container per KEYS_CACHE_SECONDS;
# a key not in the list makes a fresh listing at most every KEY_STATE_SECONDS (a key added to the
# plan is known within that time, and random keys cannot make every request list the plan).
# Whether the presented key is enabled is read for that key alone and kept KEY_STATE_SECONDS, so
# a key disabled in API Gateway stops passing within KEY_STATE_SECONDS.
KEYS_CACHE_SECONDS = 300.0
KEY_STATE_SECONDS = 30.0

_lock = threading.Lock()
_listed: tuple[float, dict[bytes, str]] | None = None
_states: dict[str, tuple[float, bool]] = {}


def _usage_plan_keys(plan_id: str, *, stale_after: float) -> dict[bytes, str]:
    """The plan's keys as {UTF-8 value: key id}, listed again when older than `stale_after` s."""
    global _listed
    with _lock:
        if _listed is not None and time.monotonic() - _listed[0] < stale_after:
            return _listed[1]

    keys: dict[bytes, str] = {}
    for page in get_apigateway_client().get_paginator("get_usage_plan_keys").paginate(usagePlanId=plan_id):
        for item in page.get("items", []):
            if item.get("value") and item.get("id"):
                keys[str(item["value"]).encode("utf-8", "surrogateescape")] = str(item["id"])
    with _lock:
        _listed = (time.monotonic(), keys)
    return keys


def _enabled(key_id: str) -> bool:
    """Whether API key `key_id` is enabled (a disabled key is refused by API Gateway too). A usage
    plan key has no `enabled` (UsagePlanKey: id, type, value, name): the API key itself says it
    (`GetApiKey` without its value)."""
    with _lock:
        known = _states.get(key_id)
        if known is not None and time.monotonic() - known[0] < KEY_STATE_SECONDS:
            return known[1]
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.exceptions import ClientError

    try:
        enabled = bool(get_apigateway_client().get_api_key(apiKey=key_id, includeValue=False).get("enabled"))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NotFoundException":
            raise
        enabled = False  # deleted since the plan was listed: not a key any more
    with _lock:
        _states[key_id] = (time.monotonic(), enabled)
    return enabled


def _match(keys: dict[bytes, str], given: bytes) -> str | None:
    """The id of the key whose value is `given`, compared in constant time per key."""
    found = None
    for value, key_id in keys.items():
        if hmac.compare_digest(given, value):
            found = key_id
    return found


def reset_key_cache() -> None:
    global _listed
    with _lock:
        _listed = None
        _states.clear()


def require_api_key(presented: str | None) -> None:
    """Pass when `presented` is one of the usage plan's keys; else 403 (never says which keys exist)."""
    plan_id = get_settings().api_usage_plan_id
    if plan_id is None:
        raise ConfigurationError("service misconfigured: environment variable API_USAGE_PLAN_ID is not set")
    if not presented:
        raise ForbiddenError("this check needs an API key in the x-api-key header")
    # Compared as UTF-8 bytes: `hmac.compare_digest` raises TypeError on non-ASCII str (a header
    # anyone can send on the open route), https://docs.python.org/3/library/hmac.html. Any lone
    # surrogate (a direct invocation can send one) encodes too, and matches no real key.
    given = presented.encode("utf-8", "surrogatepass")
    try:
        key_id = _match(_usage_plan_keys(plan_id, stale_after=KEYS_CACHE_SECONDS), given)
        if key_id is None:  # perhaps added since the listing
            key_id = _match(_usage_plan_keys(plan_id, stale_after=KEY_STATE_SECONDS), given)
        enabled = key_id is not None and _enabled(key_id)
    except Exception as exc:
        raise ConfigurationError(
            f"could not read the API keys of usage plan {plan_id} ({type(exc).__name__})"
        ) from None
    if not enabled:
        raise ForbiddenError("the API key in x-api-key is not valid for this API")
