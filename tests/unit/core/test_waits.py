"""Where providers put their waits: `Retry-After` (seconds and HTTP-date), `retry-after-ms`, and
Google's `google.rpc.RetryInfo.retryDelay`."""

from __future__ import annotations

import math
from email.utils import formatdate

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contentgen.core.waits import (
    MAX_WAIT_SECONDS,
    parse_duration,
    parse_retry_after,
    rate_limit_reset,
    retry_after_from_headers,
    retry_delay_from_google_error,
)

NOW = 1_796_000_000.0


def fixed_now() -> float:
    return NOW


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2", 2.0),
        ("0.5", 0.5),
        (" 30 ", 30.0),
        ("-4", 0.0),
        (formatdate(NOW + 120, usegmt=True), 120.0),  # RFC 9110 IMF-fixdate
        ("Sunday, 06-Nov-94 08:49:37 GMT", 0.0),  # obsolete RFC 850 form, long past
        (formatdate(NOW - 60, usegmt=True), 0.0),  # a date already past: no wait left
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_in_seconds_or_as_an_http_date(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=fixed_now) == seconds


def test_retry_after_ms_wins_over_retry_after() -> None:
    headers = httpx2.Headers({"Retry-After": "3", "Retry-After-Ms": "250"})

    assert retry_after_from_headers(headers) == 0.25


def test_retry_after_header_names_are_case_insensitive_and_dates_work() -> None:
    headers = httpx2.Headers({"retry-after": formatdate(NOW + 7, usegmt=True)})

    assert retry_after_from_headers(headers, now=fixed_now) == 7.0
    assert retry_after_from_headers(httpx2.Headers({})) is None
    assert retry_after_from_headers(None) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("36s", 36.0), ("0.5s", 0.5), ("1.000340012s", 1.000340012), ("36", None), (36, None), ("", None)],
)
def test_protobuf_duration_json(value: object, seconds: float | None) -> None:
    assert parse_duration(value) == seconds


def test_retry_info_is_found_among_other_details() -> None:
    body = {
        "error": {
            "code": 429,
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaId": "x"}]},
                {"@type": "type.googleapis.com/google.rpc.Help", "links": []},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "36s"},
            ],
        }
    }

    assert retry_delay_from_google_error(body) == 36.0
    assert retry_delay_from_google_error(body["error"]) == 36.0  # the inner object, as some SDKs keep it


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"code": 429, "message": "quota"}},
        {"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo"}]}},
        {"error": {"details": "not a list"}},
        "text",
        None,
    ],
)
def test_no_retry_info_is_no_wait(body: object) -> None:
    assert retry_delay_from_google_error(body) is None


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        # OpenRouter: epoch milliseconds (https://github.com/Gitlawb/openclaude/issues/936)
        ({"X-RateLimit-Reset": str(int((NOW + 3600) * 1000))}, 3600.0),
        ({"x-ratelimit-reset": int((NOW + 60) * 1000)}, 60.0),
        (httpx2.Headers({"X-RateLimit-Reset": str(int((NOW + 30) * 1000))}), 30.0),
        ({"X-RateLimit-Reset": str(int(NOW + 45))}, 45.0),  # epoch seconds
        ({"X-RateLimit-Reset": str(int((NOW - 10) * 1000))}, 0.0),  # already past
        ({"X-RateLimit-Reset": "soon"}, None),
        ({"X-RateLimit-Reset": "inf"}, None),
        ({"X-RateLimit-Limit": "50"}, None),
        (None, None),
        ("not headers", None),
    ],
)
def test_x_ratelimit_reset_is_the_wait_until_the_window_resets(
    headers: object, seconds: float | None
) -> None:
    assert rate_limit_reset(headers, now=fixed_now) == (
        pytest.approx(seconds) if seconds is not None else None
    )


@pytest.mark.parametrize("value", ["inf", "-inf", "1e999", "NaN", "Infinity"])
def test_a_wait_that_is_not_a_finite_number_is_unusable(value: str) -> None:
    """A `Retry-After: 1e999` once escaped as OverflowError from `math.ceil` (a 500 over HTTP, a
    dead-lettered message on a queue)."""
    assert parse_retry_after(value) is None
    assert retry_after_from_headers(httpx2.Headers({"retry-after-ms": value})) is None
    assert retry_after_from_headers(httpx2.Headers({"retry-after-ms": value, "retry-after": "3"})) == 3.0
    assert rate_limit_reset({"X-RateLimit-Reset": value}, now=fixed_now) is None


def test_a_wait_past_a_day_is_a_day() -> None:
    assert parse_retry_after("1e300") == MAX_WAIT_SECONDS
    assert parse_duration("9" * 20 + "s") == MAX_WAIT_SECONDS
    assert parse_retry_after(formatdate(NOW + 10 * 86400, usegmt=True), now=fixed_now) == MAX_WAIT_SECONDS


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_any_header_text_is_no_wait_or_a_bounded_one(text: str) -> None:
    for seconds in (
        parse_retry_after(text),
        retry_after_from_headers({"retry-after-ms": text, "retry-after": text}),
        rate_limit_reset({"X-RateLimit-Reset": text}),
        parse_duration(text),
    ):
        assert seconds is None or 0.0 <= seconds <= MAX_WAIT_SECONDS
        if seconds is not None:
            assert math.ceil(seconds) <= MAX_WAIT_SECONDS  # answerable as a Retry-After header


@pytest.mark.parametrize("value", ["1_000", "\u0661\u0662", "12 s", "0x10"])
def test_a_wait_in_anything_but_ascii_digits_is_unusable(value: str) -> None:
    """RFC 9110 §10.2.3 delay-seconds is 1*DIGIT; Python's `float` also reads "1_000" and other
    scripts' digits, which no server sends as a wait."""
    assert parse_retry_after(value) is None
    assert retry_after_from_headers({"retry-after-ms": value}) is None
