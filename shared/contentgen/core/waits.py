"""How long a provider asks us to wait, wherever it puts it.

- `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date;
- `retry-after-ms` (milliseconds; sent by OpenRouter and OpenAI-compatible servers, read by the
  `openai` SDK's own retry loop, `openai._base_client._parse_retry_after_header`);
- Google's `google.rpc.RetryInfo` in the error body's `details`
  (https://cloud.google.com/apis/design/errors#error_details,
  https://github.com/googleapis/googleapis/blob/master/google/rpc/error_details.proto):
  `{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "36s"}`, a
  `google.protobuf.Duration` in its JSON form (seconds with up to nine fractional digits and an
  `s` suffix);
- OpenRouter's `X-RateLimit-Reset` (when the rate-limit window resets, as epoch milliseconds),
  sent as a response header and, on a 429, copied into the error body's `error.metadata.headers`
  (https://openrouter.ai/docs/api-reference/limits: "X-RateLimit-* headers on the error response";
  the body form as reported in https://github.com/Gitlawb/openclaude/issues/936:
  `{"error": {"code": 429, "metadata": {"headers": {"X-RateLimit-Reset": "1741305600000"}}}}`).

Every function answers seconds (finite float, 0 to `MAX_WAIT_SECONDS`) or None when the provider
named no usable wait: a non-finite value ("inf", "1e999", "NaN") is unusable, and a finite one past
a day is taken as a day (nothing here waits that long; callers are told to come back later).
"""

from __future__ import annotations

import calendar
import math
import re
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"
MAX_WAIT_SECONDS = 86400.0
_DURATION = re.compile(r"^\s*(-?[0-9]+(?:\.[0-9]+)?)s\s*$")
# A number as the headers write it: ASCII digits only (`float` would also take "1_000" and other
# scripts' digits, which RFC 9110's delay-seconds, 1*DIGIT, does not allow).
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def _seconds(value: float) -> float | None:
    """`value` as a usable wait: None when not finite, else clamped to 0..MAX_WAIT_SECONDS."""
    if not math.isfinite(value):
        return None
    return min(MAX_WAIT_SECONDS, max(0.0, value))


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a `Retry-After` value: delay-seconds ("2", "0.5") or an HTTP-date
    ("Wed, 21 Oct 2015 07:28:00 GMT", measured against `now`, never negative); None if unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _NUMBER.fullmatch(text):
        return _seconds(float(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; an obsolete form may parse without a zone
        return None
    return _seconds(when.timestamp() - now())


def retry_after_from_headers(headers: Any, *, now: Callable[[], float] = time.time) -> float | None:
    """The wait named by response headers: `retry-after-ms` first (more precise), then
    `Retry-After`. `headers` is any mapping with a case-insensitive `get` (httpx headers)."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    raw_ms = get("retry-after-ms")
    if raw_ms:
        text = str(raw_ms).strip()
        waited = _seconds(float(text) / 1000.0) if _NUMBER.fullmatch(text) else None
        if waited is not None:
            return waited
    raw = get("retry-after")
    return parse_retry_after(str(raw), now=now) if raw else None


def parse_duration(value: Any) -> float | None:
    """Seconds from a `google.protobuf.Duration` in JSON ("36s", "0.5s", "1.000340012s"); None if
    it is not one."""
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value)
    return _seconds(float(match.group(1))) if match else None


def retry_delay_from_google_error(body: Any) -> float | None:
    """`retryDelay` of the `google.rpc.RetryInfo` in a Google error body (`{"error": {"details":
    [...]}}`, or the inner `error` object itself); None when the body carries none."""
    if not isinstance(body, dict):
        return None
    error = body.get("error", body)
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and detail.get("@type") == RETRY_INFO_TYPE:
            delay = parse_duration(detail.get("retryDelay"))
            if delay is not None:
                return delay
    return None


# Epoch values above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
_EPOCH_MS_FLOOR = 1e11


def _header(headers: Any, name: str) -> Any:
    """`name` from httpx headers (case-insensitive `get`) or a plain mapping (any case)."""
    if isinstance(headers, dict):
        for key, value in headers.items():
            if isinstance(key, str) and key.lower() == name.lower():
                return value
        return None
    get = getattr(headers, "get", None)
    return get(name) if get is not None else None


def rate_limit_reset(headers: Any, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds until the `X-RateLimit-Reset` in `headers` (response headers, or the
    `error.metadata.headers` object of an OpenRouter 429 body): an epoch time in milliseconds (as
    OpenRouter sends it) or, when too small to be milliseconds, in seconds; never negative. None
    when absent or unreadable."""
    raw = _header(headers, "x-ratelimit-reset")
    if raw is None or isinstance(raw, bool):
        return None
    try:
        stamp = float(str(raw).strip())
    except ValueError:
        return None
    if not math.isfinite(stamp) or stamp <= 0:
        return None
    seconds = stamp / 1000.0 if stamp >= _EPOCH_MS_FLOOR else stamp
    return _seconds(seconds - now())


QUOTA_FAILURE_TYPE = "type.googleapis.com/google.rpc.QuotaFailure"


def per_day_quota(body: Any) -> str | None:
    """The `quotaId` of a per-day quota a Google 429 names, None when it names none.

    A Gemini API 429 RESOURCE_EXHAUSTED carries a `google.rpc.QuotaFailure` whose `violations`
    name the quotas exceeded (`quotaId` "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
    "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", ...). When any violation is a per-day
    quota (`PerDay` in `quotaId`, or `per_day` / `PerDay` in `quotaMetric`), a retry within the
    invocation (or the minutes a RetryInfo names) cannot succeed before the day's reset. Sources
    (read 2026-12-06): googleapis/python-genai#2044 and google-gemini/gemini-cli#8437 (the bodies),
    googleapis google/rpc/error_details.proto (QuotaFailure.Violation)."""
    if not isinstance(body, dict):
        return None
    error = body.get("error", body)
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        if not isinstance(detail, dict) or detail.get("@type") != QUOTA_FAILURE_TYPE:
            continue
        violations = detail.get("violations")
        for violation in violations if isinstance(violations, list) else []:
            if not isinstance(violation, dict):
                continue
            quota_id = str(violation.get("quotaId") or "")
            metric = str(violation.get("quotaMetric") or "")
            if "PerDay" in quota_id or "per_day" in metric.lower() or "PerDay" in metric:
                return quota_id or metric
    return None


def _us_dst(year: int) -> tuple[float, float]:
    """UTC epoch seconds of the start and end of US daylight time in `year` (second Sunday of
    March, 02:00 PST = 10:00 UTC; first Sunday of November, 02:00 PDT = 09:00 UTC; 15 U.S.C. 260a)."""
    march = calendar.monthcalendar(year, 3)
    second_sunday = [week[6] for week in march if week[6]][1]
    november = calendar.monthcalendar(year, 11)
    first_sunday = next(week[6] for week in november if week[6])
    return (
        calendar.timegm((year, 3, second_sunday, 10, 0, 0)),
        calendar.timegm((year, 11, first_sunday, 9, 0, 0)),
    )


def seconds_until_pacific_midnight(now: float | None = None) -> float:
    """Seconds from `now` (epoch seconds; default the clock) to the next midnight in US Pacific
    time, when the Gemini API's per-day quotas reset ("Requests per day (RPD) quotas reset at
    midnight Pacific time", https://ai.google.dev/gemini-api/docs/rate-limits, read 2026-12-06).
    The US daylight-time rule is applied directly, so no time-zone database is needed."""
    now = time.time() if now is None else now
    year = time.gmtime(now).tm_year
    dst_start, dst_end = _us_dst(year)
    offset = -7 * 3600 if dst_start <= now < dst_end else -8 * 3600
    local = time.gmtime(now + offset)
    midnight_local = calendar.timegm((local.tm_year, local.tm_mon, local.tm_mday, 0, 0, 0)) + 86400
    reset = midnight_local - offset
    # The night the clocks change, the next local midnight is under the other offset.
    if dst_start <= now < dst_end and not dst_start <= reset < dst_end:
        reset += 3600
    elif not dst_start <= now < dst_end and dst_start <= reset < dst_end:
        reset -= 3600
    return max(1.0, reset - now)
