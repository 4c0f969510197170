"""Outcome webhooks signed the Standard Webhooks way (https://www.standardwebhooks.com, spec
`spec/standard-webhooks.md` of github.com/standard-webhooks/standard-webhooks, version 1.0.0, read
2026-12-06):

- headers `webhook-id` (the same on every retry of one event: the receiver's idempotency key),
  `webhook-timestamp` (integer Unix seconds of THIS attempt) and `webhook-signature`
  (`v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, space-delimited list);
- the symmetric secret is `whsec_` + base64 of at least 24 random bytes; the HMAC key is the
  base64-decoded part (here from SSM, `WEBHOOK_SECRET_PARAM`; locally `WEBHOOK_SECRET`);
- a delivery succeeds on 2xx only; a redirect (3xx) is a failure and is not followed; `410 Gone`
  stops the retries; others are retried with exponential backoff and jitter (the caller:
  `contentgen.services.shorts` waits between attempts as durable waits, never sleeping), honouring
  `Retry-After`; request timeout 15 s (the spec recommends 15-30 s);
- SSRF: never sent to a non-public address. `POST /shorts` refuses (422 naming `callback_url`)
  a URL that is not https, names a non-public host or literal
  (`contentgen.models.characters.check_image_url`), or whose host resolves to a non-public
  address (`contentgen.connectors.fetch_guard.check_fetchable`, the one URL guard); each attempt
  checks both again, since DNS may answer otherwise by then: a host now resolving to a
  non-public address ends the deliveries (final, nothing sent); one that does not resolve is
  retried like an unreachable receiver. Redirects are never followed. The POST itself connects
  only to an address the guard approved (`fetch_guard.fetch_pinned`: resolved and checked once,
  the TCP connect pinned to that IP, Host/SNI/certificate for the hostname), so DNS rebinding
  between a check and the connect cannot send the signed body to an internal address.

The HTTP poster is injectable (`set_webhook_poster`): tests deliver to a recording receiver.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contentgen.clients.secrets import WEBHOOK_SECRET, read_api_key
from contentgen.connectors.fetch_guard import check_fetchable, fetch_pinned
from contentgen.errors import InvalidRequestError
from contentgen.models.characters import check_image_url
from contentgen.observability import logger
from contentgen.stores.jobs import Job, claim_webhook, end_webhook, get_job

TIMEOUT_SECONDS = 15.0
MIN_SECRET_BYTES = 24
# How long an outcome's deliveries are retried, from the job's end (the execution's durable
# waits, then the dead-letter reaper's redeliveries when the execution died).
WINDOW_SECONDS = 24 * 3600
# One attempt's claim on the job row: longer than an attempt (TIMEOUT_SECONDS and the DNS check).
CLAIM_LEASE_SECONDS = 60


@dataclass(frozen=True)
class PostResult:
    """One attempt's outcome: the HTTP status (None when no answer) and the answer's Retry-After."""

    status: int | None
    retry_after: float | None = None
    error: str | None = None


# (url, body bytes, headers, timeout seconds) -> PostResult
Poster = Callable[[str, bytes, dict[str, str], float], PostResult]


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> PostResult:
    """POST connected only to an address the fetch guard approved for the URL's host
    (`fetch_pinned`; a 3xx is returned, never followed); the status and Retry-After, or the
    refusal / transport error's class (status None)."""
    try:
        answer = fetch_pinned("POST", url, field="callback_url", body=body, headers=headers, timeout=timeout)
    except InvalidRequestError as exc:
        return PostResult(None, error=f"callback_url refused: {exc.message}")
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return PostResult(None, error=type(exc).__name__)
    ok = 200 <= answer.status < 300
    return PostResult(answer.status, None if ok else _retry_after(answer.headers.get("retry-after")))


_poster: Poster = http_post


def set_webhook_poster(poster: Poster | None) -> None:
    """Send webhooks with `poster` from now on (None: real HTTP)."""
    global _poster
    _poster = poster or http_post


def signing_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret; ValueError when it is not one of >= 24 bytes."""
    encoded = secret.strip().removeprefix("whsec_")
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise ValueError("the webhook secret is not whsec_ followed by base64") from None
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"the webhook secret is shorter than {MIN_SECRET_BYTES} bytes")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256(key, "{msg_id}.{timestamp}.{body}")>` (Standard Webhooks)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Whether one of the `webhook-signature` entries matches (constant-time); for receivers/tests."""
    lowered = {name.lower(): value for name, value in headers.items()}
    expected = sign(secret, lowered["webhook-id"], int(lowered["webhook-timestamp"]), body)
    return any(hmac.compare_digest(expected, entry) for entry in lowered["webhook-signature"].split())


def event_body(event_type: str, timestamp_iso: str, data: dict[str, Any]) -> str:
    """The payload (spec's recommended shape: `type`, `timestamp`, `data`), minified JSON."""
    return json.dumps(
        {"type": event_type, "timestamp": timestamp_iso, "data": data}, separators=(",", ":"), sort_keys=True
    )


def attempt_delivery(url: str, msg_id: str, body: str, now: float) -> dict[str, Any]:
    """One signed attempt. Returns a JSON dict: `delivered` (2xx), `final` (no retry: delivered,
    410 Gone, or the URL is refused as non-public), `status`, `error`, `retry_after`."""
    try:
        check_image_url(url)
        check_fetchable(url, field="callback_url")
    except ValueError as exc:
        return {"delivered": False, "final": True, "status": None, "error": f"callback_url refused: {exc}"}
    except InvalidRequestError as exc:
        # DNS answered a non-public address (rebinding, or a record changed since the request):
        # never sent. A name that does not resolve now is retried as an unreachable receiver.
        unresolved = "does not resolve" in exc.message
        return {
            "delivered": False,
            "final": not unresolved,
            "status": None,
            "error": f"callback_url {'not reachable' if unresolved else 'refused'}: {exc.message}",
            "retry_after": None,
        }
    timestamp = int(now)
    data = body.encode()
    headers = {
        "content-type": "application/json",
        "user-agent": "contentgen-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(read_api_key(WEBHOOK_SECRET), msg_id, timestamp, data),
    }
    result = _poster(url, data, headers, TIMEOUT_SECONDS)
    delivered = result.status is not None and 200 <= result.status < 300
    return {
        "delivered": delivered,
        "final": delivered or result.status == 410,
        "status": result.status,
        "error": result.error or (None if delivered else f"HTTP {result.status}"),
        "retry_after": result.retry_after,
    }


def outcome_body(job: Job) -> str:
    """The finished job's webhook payload: `type` `<kind>.<status>` (`short.succeeded`,
    `short.failed`), `timestamp` (the job's end), `data` `{"<kind>_id", "status"}` and, when
    failed, `error` and `error_code`. The same for every attempt and every sender."""
    data: dict[str, Any] = {f"{job.kind}_id": job.job_id, "status": job.status}
    if job.status == "failed":
        data["error"] = job.error
        data["error_code"] = job.error_code
    stamp = datetime.fromtimestamp(job.updated_at, UTC).isoformat()
    return event_body(f"{job.kind}.{job.status}", stamp, data)


def deliver_claimed(job_id: str, url: str, body: str, now: float, *, give_up: bool = False) -> dict[str, Any]:
    """One attempt of the finished job's outcome webhook, claimed on the job row
    (`contentgen.stores.jobs.claim_webhook`), so that whoever sends it (the job's execution, or
    the reaper of an execution that died) sends each attempt alone and no attempt after the
    deliveries ended (`Job.webhook` set: delivered, refused, or given up). Returns
    `attempt_delivery`'s dict; `final` also when the deliveries had ended already, or this
    attempt failed with `give_up` (the retry window is over); a claim held by another sender is
    `final` False (try again later), nothing sent."""
    job = get_job(job_id)
    if job is None or job.webhook is not None:
        ended = job.webhook if job is not None else "unknown job"
        return {
            "delivered": ended == "delivered",
            "final": True,
            "status": None,
            "error": f"deliveries ended ({ended})",
        }
    if not claim_webhook(job_id, CLAIM_LEASE_SECONDS):
        return {"delivered": False, "final": False, "status": None, "error": "another attempt is in flight"}
    try:
        result = attempt_delivery(url, f"msg_{job_id}", body, now)
    except Exception:
        end_webhook(job_id, None)
        raise
    how = None
    if result["delivered"]:
        how = "delivered"
    elif result["final"]:
        how = "refused"
    elif give_up:
        how = "gave_up"
    end_webhook(job_id, how)
    return {**result, "final": how is not None}


def reap_webhook(payload: dict[str, Any], *, time_left_s: float | None = None) -> bool:
    """The outcome webhook of a job whose execution died (the dead-letter reaper, after
    `contentgen.services.jobs.reap_failed_execution` finished the job and published its event):
    with a `callback_url` in the start payload's request, one claimed attempt now
    (`deliver_claimed`). True when nothing is left to do (delivered, refused, given up after
    `WINDOW_SECONDS` from the job's end, no webhook asked, already ended); False: try again later
    (the reaper reports the message failed, the queue redelivers it after its visibility
    timeout). With less than an attempt's time left (`time_left_s`), nothing is sent: False."""
    request = payload.get("request")
    url = request.get("callback_url") if isinstance(request, dict) else None
    job_id = str(payload.get("job_id") or "")
    if not url or not job_id:
        return True
    job = get_job(job_id)
    if job is None or not job.finished or job.webhook is not None:
        return True
    if time_left_s is not None and time_left_s < TIMEOUT_SECONDS + 5:
        return False
    now = time.time()
    result = deliver_claimed(
        job_id, str(url), outcome_body(job), now, give_up=now >= job.updated_at + WINDOW_SECONDS
    )
    logger.info(
        "reaper: webhook attempt",
        extra={
            "job_id": job_id,
            "delivered": result["delivered"],
            "final": result["final"],
            "error": result.get("error"),
        },
    )
    return bool(result["final"])
