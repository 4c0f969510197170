"""How far a failed request got: never sent (retry is safe) or maybe sent (final for a paid start).

Both classifiers split httpx's transport errors the same way (`contentgen.connectors.transport`);
the call policy then retries a dropped connection only for idempotent work, and a caller that
reschedules through its queue (`wait=False`) makes one request and never waits.
"""

from __future__ import annotations

import httpx2
import openai
import pytest

from contentgen.connectors.genai_connector import classify_genai_error
from contentgen.connectors.openai_connector import classify_openai_error
from contentgen.core.deadline import Deadline, deadline_scope
from contentgen.core.limiter import limiter_for, reset_limiters
from contentgen.core.retry import FailureKind, ProviderCaller, ProviderFailure
from contentgen.errors import ProviderBusyError, ProviderRateLimitedError, ProviderUnavailableError
from tests.unit.core.test_retry import FakeConnector, Script, classify

REQUEST = httpx2.Request("POST", "https://aiplatform.googleapis.com/v1/models/veo:predictLongRunning")

NEVER_SENT = [
    httpx2.ConnectError("[Errno 111] Connection refused", request=REQUEST),
    httpx2.ConnectError("[Errno -2] Name or service not known", request=REQUEST),  # DNS
    httpx2.ConnectTimeout("timed out", request=REQUEST),
    httpx2.PoolTimeout("no connection", request=REQUEST),
]
MAYBE_SENT = [
    httpx2.RemoteProtocolError("Server disconnected without sending a response.", request=REQUEST),
    httpx2.ReadError("[Errno 104] Connection reset by peer", request=REQUEST),
    httpx2.WriteError("[Errno 32] Broken pipe", request=REQUEST),
]


def _wrapped(cause: Exception) -> openai.APIConnectionError:
    """What openai raises: its own error `from` httpx's (`_base_client`, `raise ... from err`)."""
    error_type = (
        openai.APITimeoutError if isinstance(cause, httpx2.TimeoutException) else openai.APIConnectionError
    )
    error = error_type(request=REQUEST)
    error.__cause__ = cause
    return error


@pytest.mark.parametrize("exc", NEVER_SENT, ids=lambda e: type(e).__name__)
def test_a_request_that_never_left_is_a_connection_failure_for_both_sdks(exc: Exception) -> None:
    for failure in (
        classify_genai_error(exc),
        classify_openai_error(_wrapped(exc)),
        classify_openai_error(exc),
    ):
        assert failure is not None
        assert failure.kind is FailureKind.CONNECTION
        assert failure.message is not None
        assert type(exc).__name__ in failure.message


@pytest.mark.parametrize("exc", MAYBE_SENT, ids=lambda e: type(e).__name__)
def test_a_connection_lost_after_sending_is_dropped_for_both_sdks(exc: Exception) -> None:
    for failure in (
        classify_genai_error(exc),
        classify_openai_error(_wrapped(exc)),
        classify_openai_error(exc),
    ):
        assert failure is not None
        assert failure.kind is FailureKind.DROPPED


def test_a_read_timeout_stays_a_timeout() -> None:
    exc = httpx2.ReadTimeout("The read operation timed out", request=REQUEST)

    for failure in (classify_genai_error(exc), classify_openai_error(_wrapped(exc))):
        assert failure is not None
        assert failure.kind is FailureKind.TIMEOUT


def test_a_dropped_start_of_paid_work_is_final_and_flagged_unconfirmed() -> None:
    script = Script(ProviderFailure(FailureKind.DROPPED), ProviderFailure(FailureKind.DROPPED))
    provider = ProviderCaller("Fake", FakeConnector(), classify, sleep=lambda _: None)

    with deadline_scope(Deadline.after(28)), pytest.raises(ProviderUnavailableError) as raised:
        provider.call(script, models=["fake/a", "fake/b"], name="start", idempotent=False)

    assert len(script.timeouts) == 1, "one request: no retry, no fallback model"
    assert raised.value.unconfirmed_paid_work is True
    assert "closed the connection without answering" in raised.value.message


def test_a_start_that_never_left_is_retried() -> None:
    script = Script(ProviderFailure(FailureKind.CONNECTION))
    provider = ProviderCaller("Fake", FakeConnector(), classify, sleep=lambda _: None)

    with deadline_scope(Deadline.after(28)):
        assert provider.call(script, models=["fake/a"], name="start", idempotent=False) == "ok"

    assert len(script.timeouts) == 2


def test_a_dropped_idempotent_call_is_retried_and_not_flagged() -> None:
    script = Script(ProviderFailure(FailureKind.DROPPED), ProviderFailure(FailureKind.DROPPED))
    provider = ProviderCaller("Fake", FakeConnector(), classify, sleep=lambda _: None)

    with deadline_scope(Deadline.after(28)):
        assert provider.call(script, models=["fake/a"], name="op") == "ok"

    assert len(script.timeouts) == 3


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (ProviderFailure(FailureKind.SERVER_ERROR, 503, retry_after=0.5), ProviderBusyError),
        (ProviderFailure(FailureKind.RATE_LIMITED, 429, retry_after=0.5), ProviderRateLimitedError),
        (ProviderFailure(FailureKind.DROPPED), ProviderUnavailableError),
    ],
    ids=["503-with-wait", "429-with-wait", "dropped"],
)
def test_without_waiting_one_request_is_made_and_the_wait_is_handed_back(
    failure: ProviderFailure, error: type[Exception]
) -> None:
    sleeps: list[float] = []
    reset_limiters()
    script = Script(failure, failure)
    provider = ProviderCaller("Fake-nowait", FakeConnector(), classify, sleep=sleeps.append)

    with deadline_scope(Deadline.after(28)), pytest.raises(error) as raised:
        provider.call(script, models=["fake/a", "fake/b"], name="check", wait=False)

    assert sleeps == []
    assert len(script.timeouts) <= 2, "one request per model"
    assert getattr(raised.value, "retry_after", None) == failure.retry_after


def test_without_waiting_the_limiters_pause_is_not_slept_out() -> None:
    reset_limiters()
    limiter_for("Fake-paced").throttled(5.0)
    script = Script()
    provider = ProviderCaller("Fake-paced", FakeConnector(), classify, sleep=lambda _: None)

    with deadline_scope(Deadline.after(28)), pytest.raises(ProviderRateLimitedError) as raised:
        provider.call(script, models=["fake/a"], name="check", wait=False)

    assert script.timeouts == [], "no request inside the pause"
    assert raised.value.retry_after is not None
    assert raised.value.retry_after > 4
    reset_limiters()
