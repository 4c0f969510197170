from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import httpx2
import openai
import pytest
from google.genai import errors as genai_errors

from contentgen.connectors.genai_connector import classify_genai_error
from contentgen.connectors.openai_connector import (
    OpenRouterBodyError,
    classify_openai_error,
    failure_for_status,
)
from contentgen.core import retry
from contentgen.core.deadline import Deadline, deadline_scope
from contentgen.core.retry import Attempt, FailureKind, ProviderCaller, ProviderFailure
from contentgen.errors import (
    ContentFilteredError,
    ContentModeratedError,
    DeadlineExceededError,
    ModelUnavailableError,
    ProviderAuthError,
    ProviderInsufficientCreditsError,
    ProviderRateLimitedError,
    ProviderRequestRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from contentgen.observability import AttemptRecord


class Failing(Exception):
    def __init__(self, failure: ProviderFailure) -> None:
        self.failure = failure


class FakeConnector:
    def __init__(self) -> None:
        self.builds = 0
        self.client: object | None = None

    def get(self) -> object:
        if self.client is None:
            self.builds += 1
            self.client = object()
        return self.client

    def reset(self) -> None:
        self.client = None


def classify(exc: BaseException) -> ProviderFailure | None:
    return exc.failure if isinstance(exc, Failing) else None


class Script:
    """An operation that fails with the given failures, then answers "ok"."""

    def __init__(self, *failures: ProviderFailure) -> None:
        self.failures = list(failures)
        self.timeouts: list[float] = []
        self.started: list[float] = []

    def __call__(self, client: object, attempt: Attempt) -> str:
        self.timeouts.append(attempt.timeout)
        self.started.append(time.monotonic())
        if self.failures:
            raise Failing(self.failures.pop(0))
        return "ok"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def caller(sleeps: list[float]) -> Callable[[], ProviderCaller[object]]:
    connector = FakeConnector()

    def make() -> ProviderCaller[object]:
        return ProviderCaller("Fake", connector, classify, sleep=sleeps.append)

    return make


MODELS = ["fake/model"]
RATE_LIMITED = ProviderFailure(FailureKind.RATE_LIMITED, 429, retry_after=0.3)
SERVER_ERROR = ProviderFailure(FailureKind.SERVER_ERROR, 503)


def test_retry_after_is_honoured(caller: Callable[[], ProviderCaller[object]], sleeps: list[float]) -> None:
    script = Script(RATE_LIMITED)

    with deadline_scope(Deadline.after(28)):
        assert caller().call(script, models=MODELS, name="op") == "ok"

    # A 429's wait is the container's limiter's, not a private sleep of this request.
    assert sleeps == []
    assert len(script.timeouts) == 2
    assert script.started[1] - script.started[0] >= 0.3


def test_backoff_grows_and_stops_at_max_attempts(
    caller: Callable[[], ProviderCaller[object]], sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVIDER_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("RETRY_BASE_DELAY_SECONDS", "0.5")
    script = Script(SERVER_ERROR, SERVER_ERROR, SERVER_ERROR, SERVER_ERROR)

    with deadline_scope(Deadline.after(28)), pytest.raises(ProviderUnavailableError) as caught:
        caller().call(script, models=MODELS, name="op")

    assert len(script.timeouts) == 3
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5
    assert 0 <= sleeps[1] <= 1.0
    assert caught.value.status_code == 502
    assert "3 attempts" in caught.value.message


def test_a_wait_that_would_pass_the_deadline_is_not_taken(
    caller: Callable[[], ProviderCaller[object]], sleeps: list[float]
) -> None:
    script = Script(ProviderFailure(FailureKind.RATE_LIMITED, 429, retry_after=30.0))

    with deadline_scope(Deadline.after(10)), pytest.raises(ProviderRateLimitedError) as caught:
        caller().call(script, models=MODELS, name="op")

    assert sleeps == []
    assert caught.value.status_code == 503
    assert caught.value.retry_after == 30.0


def test_attempt_timeout_is_capped_by_remaining_time_minus_margin(
    caller: Callable[[], ProviderCaller[object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEADLINE_MARGIN_SECONDS", "1.5")
    script = Script()

    with deadline_scope(Deadline.after(5)):
        caller().call(script, models=MODELS, name="op")

    assert 3.0 < script.timeouts[0] <= 3.5


def test_no_attempt_when_too_little_time_is_left(caller: Callable[[], ProviderCaller[object]]) -> None:
    script = Script()

    with deadline_scope(Deadline.after(1.0)), pytest.raises(DeadlineExceededError) as caught:
        caller().call(script, models=MODELS, name="op")

    assert script.timeouts == []
    assert caught.value.status_code == 504


def test_timeouts_exhausted_are_504(caller: Callable[[], ProviderCaller[object]]) -> None:
    timeout = ProviderFailure(FailureKind.TIMEOUT)

    with deadline_scope(Deadline.after(28)), pytest.raises(ProviderTimeoutError):
        caller().call(Script(timeout, timeout, timeout), models=MODELS, name="op")


def test_rejected_key_resets_the_client_once(caller: Callable[[], ProviderCaller[object]]) -> None:
    auth = ProviderFailure(FailureKind.AUTH, 401)
    connector = FakeConnector()
    provider = ProviderCaller("Fake", connector, classify, sleep=lambda _: None)

    with deadline_scope(Deadline.after(28)):
        assert provider.call(Script(auth), models=MODELS, name="op") == "ok"
        assert connector.builds == 2
        with pytest.raises(ProviderAuthError):
            provider.call(Script(auth, auth), models=MODELS, name="op")

    assert connector.builds == 3


def test_request_rejected_is_not_retried(
    caller: Callable[[], ProviderCaller[object]], sleeps: list[float]
) -> None:
    script = Script(ProviderFailure(FailureKind.REJECTED, 400))

    with deadline_scope(Deadline.after(28)), pytest.raises(ProviderRequestRejectedError):
        caller().call(script, models=MODELS, name="op")

    assert len(script.timeouts) == 1
    assert sleeps == []


def test_other_exceptions_propagate_untouched(caller: Callable[[], ProviderCaller[object]]) -> None:
    def broken(client: object, attempt: Attempt) -> str:
        raise KeyError("bug")

    with deadline_scope(Deadline.after(28)), pytest.raises(KeyError):
        caller().call(broken, models=MODELS, name="op")


def test_review_puts_what_the_caller_found_on_the_answering_requests_own_record(
    caller: Callable[[], ProviderCaller[object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[AttemptRecord] = []
    monkeypatch.setattr(retry, "record_attempt", lambda record, **_: written.append(record))
    reviewed: list[tuple[str, int]] = []

    def review(result: str, attempt: Attempt) -> None:
        reviewed.append((result, attempt.record.attempt))
        attempt.record.reply_problems["SoftLimitTrimmed"] = 2

    with deadline_scope(Deadline.after(28)):
        assert caller().call(Script(SERVER_ERROR), models=MODELS, name="op", review=review) == "ok"

    assert reviewed == [("ok", 2)], "the answered request only, not the failed one before it"
    assert [(record.outcome, record.reply_problems) for record in written] == [
        ("server_error", {}),
        ("ok", {"SoftLimitTrimmed": 2}),
    ]


def test_a_review_that_raises_still_writes_the_paid_requests_record(
    caller: Callable[[], ProviderCaller[object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[AttemptRecord] = []
    monkeypatch.setattr(retry, "record_attempt", lambda record, **_: written.append(record))

    def review(result: str, attempt: Attempt) -> None:
        raise KeyError("bug in the review")

    with deadline_scope(Deadline.after(28)), pytest.raises(KeyError):
        caller().call(Script(), models=MODELS, name="op", review=review)

    assert [record.outcome for record in written] == ["ok"]


def _status_error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://127.0.0.1/api/v1/chat/completions")
    response = httpx2.Response(
        status, headers=headers or {}, request=request, json={"error": {"message": "x"}}
    )
    cls = {429: openai.RateLimitError, 401: openai.AuthenticationError, 400: openai.BadRequestError}.get(
        status, openai.InternalServerError
    )
    return cls("x", response=response, body=None)


@pytest.mark.parametrize(
    ("error", "kind", "retry_after"),
    [
        (_status_error(429, {"retry-after-ms": "250"}), FailureKind.RATE_LIMITED, 0.25),
        (_status_error(429, {"retry-after": "3"}), FailureKind.RATE_LIMITED, 3.0),
        (  # an HTTP-date already past: no wait left (RFC 9110 §10.2.3)
            _status_error(429, {"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}),
            FailureKind.RATE_LIMITED,
            0.0,
        ),
        (_status_error(503), FailureKind.SERVER_ERROR, None),
        (_status_error(504), FailureKind.TIMEOUT, None),
        (_status_error(401), FailureKind.AUTH, None),
        (_status_error(400), FailureKind.REJECTED, None),
        (openai.APITimeoutError(httpx2.Request("POST", "http://127.0.0.1")), FailureKind.TIMEOUT, None),
        (  # the SDK's connection error without httpx's cause: it may have been sent
            openai.APIConnectionError(request=httpx2.Request("POST", "http://127.0.0.1")),
            FailureKind.DROPPED,
            None,
        ),
    ],
)
def test_openai_errors_are_classified(error: Exception, kind: FailureKind, retry_after: float | None) -> None:
    failure = classify_openai_error(error)

    assert failure is not None
    assert failure.kind is kind
    assert failure.retry_after == retry_after


def test_our_own_errors_are_not_classified_and_anything_else_is_a_provider_failure() -> None:
    # The classifier is total: whatever a provider request raises that is not our own decision
    # (a decline, a deadline) is a provider server error, never a 500.
    from contentgen.errors import ContentFilteredError

    assert classify_openai_error(ContentFilteredError("declined")) is None
    unexpected = classify_openai_error(ValueError("x"))
    assert unexpected is not None
    assert unexpected.kind is FailureKind.SERVER_ERROR
    assert unexpected.message is not None
    assert "ValueError" in unexpected.message


def test_broken_json_in_a_200_is_a_server_error_quoting_what_was_received() -> None:
    # The openai SDK's `_parse` calls `response.json()` on an application/json body and lets the
    # JSONDecodeError out (openai/_response.py); https://github.com/HKUDS/nanobot/issues/2289.
    import json

    body = '{"id":"gen-1","choices":[{"index":0,"message":{"role":"assistant","content":"hel'
    try:
        json.loads(body)
    except json.JSONDecodeError as exc:
        failure = classify_openai_error(exc)

    assert failure is not None
    assert failure.kind is FailureKind.SERVER_ERROR
    assert failure.message is not None
    assert "not valid JSON" in failure.message
    assert '"content":"hel' in failure.message


def test_httpx_errors_raised_while_reading_a_body_are_transport_failures() -> None:
    request = httpx2.Request("POST", "http://127.0.0.1/api/v1/chat/completions")

    read_timeout = classify_openai_error(httpx2.ReadTimeout("slow", request=request))
    dropped = classify_openai_error(httpx2.RemoteProtocolError("peer closed", request=request))

    assert read_timeout is not None
    assert read_timeout.kind is FailureKind.TIMEOUT
    assert dropped is not None
    assert dropped.kind is FailureKind.DROPPED


def test_final_failures_take_one_attempt_without_key_reset_or_fallback(sleeps: list[float]) -> None:
    # OpenRouter 402 (out of credits) and 403 (moderation): https://openrouter.ai/docs/api-reference/errors
    for failure, error in (
        (ProviderFailure(FailureKind.INSUFFICIENT_CREDITS, 402, message="Insufficient credits"), ProviderInsufficientCreditsError),
        (ProviderFailure(FailureKind.MODERATED, 403, message="flagged", reasons=("violence",)), ContentModeratedError),
    ):  # fmt: skip
        connector = FakeConnector()
        provider = ProviderCaller("Fake", connector, classify, sleep=sleeps.append)
        script = Script(failure, failure, failure, failure, failure, failure)

        with deadline_scope(Deadline.after(28)), pytest.raises(error):
            provider.call(script, models=["fake/a", "fake/b"], name="op")

        assert len(script.timeouts) == 1, "no retry, no fallback model"
        assert connector.builds == 1, "the key is not re-read"
    assert sleeps == []


def test_to_error_quotes_the_provider_but_never_on_auth() -> None:
    credits = ProviderFailure(
        FailureKind.INSUFFICIENT_CREDITS, 402, message="Insufficient credits. Add more"
    ).to_error("OpenRouter", attempts=1)
    moderated = ProviderFailure(
        FailureKind.MODERATED, 403, message="input was flagged", reasons=("violence", "hate")
    ).to_error("OpenRouter", attempts=1)
    auth = ProviderFailure(
        FailureKind.AUTH, 401, message="Incorrect API key provided: sk-or-v1-abc"
    ).to_error("OpenRouter", attempts=2)

    assert (credits.status_code, credits.code) == (503, "provider_insufficient_credits")
    assert "out of credits" in credits.message
    assert "Insufficient credits. Add more" in credits.message
    assert (moderated.status_code, moderated.code) == (422, "content_moderated")
    assert "(violence, hate)" in moderated.message
    assert "input was flagged" in moderated.message
    assert "sk-or" not in auth.message


def _openrouter_error(status: int, body: dict[str, object]) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://127.0.0.1/api/v1/chat/completions")
    response = httpx2.Response(status, request=request, json={"error": body})
    return openai.APIStatusError("x", response=response, body=body)


def test_openrouter_402_and_403_have_their_own_kinds() -> None:
    credits = classify_openai_error(_openrouter_error(402, {"code": 402, "message": "Insufficient credits"}))
    flagged = classify_openai_error(
        _openrouter_error(
            403,
            {
                "code": 403,
                "message": "Your chosen model requires moderation and your input was flagged",
                "metadata": {"reasons": ["violence"], "flagged_input": "...", "provider_name": "OpenAI"},
            },
        )
    )

    assert credits == ProviderFailure(FailureKind.INSUFFICIENT_CREDITS, 402, message="Insufficient credits")
    assert flagged is not None
    assert (flagged.kind, flagged.reasons) == (FailureKind.MODERATED, ("violence",))
    assert flagged.message == "Your chosen model requires moderation and your input was flagged"


@pytest.mark.parametrize(
    ("error", "kind", "status"),
    [
        ({"code": 502, "message": "bad gateway"}, FailureKind.SERVER_ERROR, 502),
        ({"code": "server_error", "message": "Provider disconnected"}, FailureKind.SERVER_ERROR, 502),
        ({"code": 429, "message": "slow down"}, FailureKind.RATE_LIMITED, 429),
        ({"code": "429", "message": "slow down"}, FailureKind.RATE_LIMITED, 429),
        ({"code": 408, "message": "timed out"}, FailureKind.TIMEOUT, 408),
        (None, FailureKind.SERVER_ERROR, 502),
    ],
)
def test_failures_inside_a_200_are_classified_like_their_code(
    error: object, kind: FailureKind, status: int
) -> None:
    failure = classify_openai_error(OpenRouterBodyError(error, default_message="no choices"))

    assert failure is not None
    assert (failure.kind, failure.status) == (kind, status)
    assert failure.message == (error["message"] if isinstance(error, dict) else "no choices")


def _google_error(
    status: int, body: Mapping[str, object], headers: dict[str, str] | None = None
) -> genai_errors.APIError:
    request = httpx2.Request("POST", "http://127.0.0.1/v1beta/models/m:generateContent")
    response = httpx2.Response(status, request=request, headers=headers or {}, json=body)
    return genai_errors.APIError(status, body, response)


def test_google_retry_info_is_the_wait() -> None:
    body = {
        "error": {
            "code": 429,
            "message": "Quota exceeded",
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "36s"},
            ],
        }
    }

    failure = classify_genai_error(_google_error(429, body))

    assert failure == ProviderFailure(FailureKind.RATE_LIMITED, 429, 36.0, "Quota exceeded")


def test_google_retry_after_ms_header_when_no_retry_info() -> None:
    body = {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}

    failure = classify_genai_error(_google_error(503, body, {"retry-after-ms": "1500"}))

    assert failure is not None
    assert (failure.kind, failure.retry_after) == (FailureKind.SERVER_ERROR, 1.5)


@pytest.mark.parametrize("status_name", ["FAILED_PRECONDITION", "INVALID_ARGUMENT"])
def test_google_400_is_rejected_with_googles_words(status_name: str) -> None:
    body = {"error": {"code": 400, "message": "User location is not supported", "status": status_name}}

    failure = classify_genai_error(_google_error(400, body))

    assert failure == ProviderFailure(FailureKind.REJECTED, 400, message="User location is not supported")


@pytest.mark.parametrize("status", [401, 403])
def test_google_401_and_403_stay_the_key_path(status: int) -> None:
    body = {"error": {"code": status, "message": "API key not valid", "status": "PERMISSION_DENIED"}}

    failure = classify_genai_error(_google_error(status, body))

    assert failure is not None
    assert failure.kind is FailureKind.AUTH


def _unreadable_answers() -> list[Exception]:
    """What google-genai 3.4 raises for a 200 it cannot read (replayed over the wire in
    tests/integration/test_provider_conformance.py): truncated JSON or HTML, a body that is not
    what its Content-Encoding says, JSON not of the API's shape, anything else."""
    import json

    from pydantic import BaseModel

    class Shape(BaseModel):
        content: dict[str, object]

    try:
        json.loads('{"predictions": [{"bytesBase64Encoded": "iVBORw0KGgo')
    except json.JSONDecodeError as exc:
        truncated = exc
    try:
        Shape.model_validate({"content": 5})
    except ValueError as exc:
        shape = exc
    request = httpx2.Request("POST", "http://127.0.0.1/v1/models/m:predict")
    decoding = httpx2.DecodingError(
        "Error -3 while decompressing data: incorrect header check", request=request
    )
    return [truncated, decoding, shape, KeyError("generatedSamples")]


@pytest.mark.parametrize("exc", _unreadable_answers(), ids=lambda exc: type(exc).__name__)
def test_anything_unexpected_from_a_google_call_is_an_unreadable_answer(exc: Exception) -> None:
    failure = classify_genai_error(exc)

    assert failure is not None
    assert failure.kind is FailureKind.UNREADABLE
    assert failure.kind.retryable
    assert failure.message


def test_an_unreadable_answer_quotes_what_was_received() -> None:
    failure = classify_genai_error(_unreadable_answers()[0])

    assert failure is not None
    assert failure.message is not None
    assert "iVBORw0KGgo" in failure.message


def test_the_layers_own_errors_are_not_provider_failures() -> None:
    from contentgen.errors import ContentFilteredError, ModelOutputError

    assert classify_genai_error(ContentFilteredError("declined")) is None
    assert classify_genai_error(ModelOutputError("no operation name")) is None
    assert classify_genai_error(KeyboardInterrupt()) is None


@pytest.mark.parametrize(
    "message",
    [
        # google-marketing-solutions/adios#62 (Imagen).
        "Image generation failed with the following error: The prompt could not be submitted. Your current "
        "safety filter threshold prohibited one or more words in this prompt. If you think this was an error, "
        "send feedback. Support codes: 61493863",
        # epam/ai-dial-adapter-vertexai#48 (Imagen, 2024).
        "Image generation failed with the following error: The response is blocked, as it may violate our "
        "policies. If you believe this is an error, please send feedback to your account team. Error Code: 58061214",
        "Support codes: 12345678, 90789179",  # one documented code among others
        "The prompt couldn't be submitted.",
    ],
)
def test_a_google_4xx_in_a_safety_filters_words_is_declined(message: str) -> None:
    body = {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}

    failure = classify_genai_error(_google_error(400, body))

    assert failure == ProviderFailure(FailureKind.DECLINED, 400, message=message)
    assert isinstance(failure.to_error("Google GenAI", attempts=1), ContentFilteredError)


@pytest.mark.parametrize(
    "message",
    [
        "Image generation failed with the following error: Invalid rai level from the request",
        "Request contains an invalid argument. Support codes: 12345678",
        "safety_filter_level is not supported for this model",
    ],
)
def test_a_google_4xx_that_is_not_a_filter_stays_rejected(message: str) -> None:
    body = {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}

    failure = classify_genai_error(_google_error(400, body))

    assert failure is not None
    assert failure.kind is FailureKind.REJECTED


def test_an_unreadable_answer_to_a_start_of_paid_work_is_neither_retried_nor_sent_to_another_model(
    sleeps: list[float],
) -> None:
    """A 200 the SDK could not read may stand for a Veo operation that was started and billed."""
    provider = ProviderCaller("Fake", FakeConnector(), classify, sleep=sleeps.append)
    script = Script(
        ProviderFailure(FailureKind.UNREADABLE, message="not JSON"), ProviderFailure(FailureKind.UNREADABLE)
    )

    with deadline_scope(Deadline.after(28)), pytest.raises(ProviderUnavailableError) as caught:
        provider.call(script, models=["fake/a", "fake/b"], name="start", idempotent=False)

    assert len(script.timeouts) == 1, "one request: no retry, no fallback model"
    assert "could not be read" in caught.value.message


def test_an_unreadable_answer_to_an_idempotent_call_is_retried(sleeps: list[float]) -> None:
    provider = ProviderCaller("Fake", FakeConnector(), classify, sleep=sleeps.append)
    script = Script(ProviderFailure(FailureKind.UNREADABLE))

    with deadline_scope(Deadline.after(28)):
        assert provider.call(script, models=["fake/a"], name="op") == "ok"

    assert len(script.timeouts) == 2


def test_no_request_with_a_non_positive_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # Found under load: a slow cold client build left `remaining - margin` below zero and the
    # socket raised "ValueError: Timeout value out of range" (an unhandled 500).
    monkeypatch.setenv("DEADLINE_MARGIN_SECONDS", "0")
    monkeypatch.setenv("MIN_ATTEMPT_SECONDS", "0.05")

    class SlowConnector(FakeConnector):
        def get(self) -> object:
            time.sleep(0.2)
            return super().get()

    script = Script()
    provider = ProviderCaller("Fake", SlowConnector(), classify, sleep=lambda _: None)

    with deadline_scope(Deadline.after(0.1)), pytest.raises(DeadlineExceededError) as caught:
        provider.call(script, models=MODELS, name="op")

    assert script.timeouts == [], "the operation never ran"
    assert caught.value.status_code == 504


def test_an_operation_failing_after_the_provider_answered_is_still_metered(
    caller: Callable[[], ProviderCaller[object]],
) -> None:
    """E.g. an image withheld on output: the request was paid, so it is counted and its reported
    cost charged, although the error is not a provider failure."""
    from contentgen.billing.meter import metered
    from contentgen.errors import ContentFilteredError

    def filtered(client: object, attempt: Attempt) -> str:
        attempt.report(answered_by=attempt.model, cost_usd=0.04)
        raise ContentFilteredError("withheld by the safety filter")

    with metered() as meter, deadline_scope(Deadline.after(28)), pytest.raises(ContentFilteredError):
        caller().call(filtered, models=MODELS, name="op")

    assert (meter.provider_requests, meter.as_usage()["cost_usd"]) == (1, 0.04)


def test_the_meters_guard_refuses_a_request_before_it_is_made(
    caller: Callable[[], ProviderCaller[object]],
) -> None:
    from contentgen.billing.meter import metered

    script = Script()

    def refuse(spent: object) -> None:
        raise RuntimeError("over budget")

    with metered() as meter, deadline_scope(Deadline.after(28)):
        meter.guard = refuse
        with pytest.raises(RuntimeError):
            caller().call(script, models=MODELS, name="op")

    assert script.started == [], "no provider request"


def test_a_timed_out_start_of_paid_work_is_neither_retried_nor_sent_to_another_model(
    sleeps: list[float],
) -> None:
    """A Veo start that timed out may have started (and billed) the operation at the provider."""
    connector = FakeConnector()
    provider = ProviderCaller("Fake", connector, classify, sleep=sleeps.append)
    script = Script(ProviderFailure(FailureKind.TIMEOUT), ProviderFailure(FailureKind.TIMEOUT))

    with deadline_scope(Deadline.after(28)), pytest.raises(ProviderTimeoutError):
        provider.call(script, models=["fake/a", "fake/b"], name="start", idempotent=False)

    assert len(script.timeouts) == 1, "one request: no retry, no fallback model"


def test_a_timed_out_idempotent_call_is_still_retried(sleeps: list[float]) -> None:
    provider = ProviderCaller("Fake", FakeConnector(), classify, sleep=sleeps.append)
    script = Script(ProviderFailure(FailureKind.TIMEOUT))

    with deadline_scope(Deadline.after(28)):
        assert provider.call(script, models=["fake/a"], name="op") == "ok"

    assert len(script.timeouts) == 2


@pytest.mark.parametrize(
    "message",
    [
        # https://github.com/gptme/gptme/issues/1449
        "Key limit exceeded (monthly limit). Manage it using https://openrouter.ai/settings/keys",
        # https://github.com/RooCodeInc/Roo-Code/issues/515
        "Key limit exceeded. Manage it using https://openrouter.ai/keys",
    ],
)
def test_openrouter_403_key_limit_is_insufficient_credits_not_moderation(message: str) -> None:
    failure = classify_openai_error(_openrouter_error(403, {"code": 403, "message": message}))

    assert failure == ProviderFailure(FailureKind.INSUFFICIENT_CREDITS, 403, message=message)


def test_openrouter_403_that_says_neither_is_a_rejected_request() -> None:
    failure = classify_openai_error(_openrouter_error(403, {"code": 403, "message": "Forbidden"}))

    assert failure == ProviderFailure(FailureKind.REJECTED, 403, message="Forbidden")


def test_openrouter_402_carries_no_wait() -> None:
    request = httpx2.Request("POST", "http://127.0.0.1/api/v1/chat/completions")
    response = httpx2.Response(402, request=request, headers={"Retry-After": "60"}, json={})
    error = openai.APIStatusError(
        "x", response=response, body={"code": 402, "message": "Insufficient credits"}
    )

    failure = classify_openai_error(error)

    assert failure is not None
    assert (failure.kind, failure.retry_after) == (FailureKind.INSUFFICIENT_CREDITS, None)


def test_openrouter_429_wait_from_x_ratelimit_reset_in_the_body_or_headers() -> None:
    # https://github.com/Gitlawb/openclaude/issues/936; https://openrouter.ai/docs/api-reference/limits
    reset_ms = str(int((time.time() + 3600) * 1000))
    in_body = classify_openai_error(
        _openrouter_error(
            429,
            {
                "code": 429,
                "message": "Rate limit exceeded: free-models-per-day",
                "metadata": {"headers": {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset_ms}},
            },
        )
    )  # fmt: skip
    request = httpx2.Request("POST", "http://127.0.0.1/api/v1/chat/completions")
    response = httpx2.Response(429, request=request, headers={"X-RateLimit-Reset": reset_ms}, json={})
    in_headers = classify_openai_error(openai.RateLimitError("x", response=response, body={"code": 429}))
    in_200 = classify_openai_error(
        OpenRouterBodyError(
            {"code": 429, "message": "slow down", "metadata": {"headers": {"X-RateLimit-Reset": reset_ms}}},
            default_message="x",
        )
    )

    for failure in (in_body, in_headers, in_200):
        assert failure is not None
        assert failure.kind is FailureKind.RATE_LIMITED
        assert failure.retry_after == pytest.approx(3600, abs=5)
        assert failure.account_wide, "OpenRouter's own limiter: the whole account waits"


def test_openrouter_429_from_the_upstream_provider_is_the_models_own() -> None:
    failure = classify_openai_error(
        _openrouter_error(
            429,
            {
                "code": 429,
                "message": "Provider returned error",
                "metadata": {"raw": "rate-limited upstream", "provider_name": "Google AI Studio"},
            },
        )
    )

    assert failure is not None
    assert (failure.kind, failure.account_wide) == (FailureKind.RATE_LIMITED, False)


def test_an_account_wide_wait_the_deadline_cannot_meet_is_not_sent_to_the_next_model(
    sleeps: list[float],
) -> None:
    account = ProviderFailure(FailureKind.RATE_LIMITED, 429, 120.0, "Rate limit exceeded", account_wide=True)
    script = Script(account, account, account)

    with deadline_scope(Deadline.after(28)), pytest.raises(ProviderRateLimitedError) as caught:
        ProviderCaller("Fake", FakeConnector(), classify, sleep=sleeps.append).call(
            script, models=["fake/a", "fake/b", "fake/c"], name="op"
        )

    assert len(script.timeouts) == 1, "no request to another model inside the account's window"
    assert (caught.value.status_code, caught.value.retry_after) == (503, 120.0)


def test_a_models_own_wait_the_deadline_cannot_meet_falls_back_to_the_next_model(
    sleeps: list[float],
) -> None:
    upstream = ProviderFailure(FailureKind.RATE_LIMITED, 429, 120.0, "rate-limited upstream")
    script = Script(upstream)

    with deadline_scope(Deadline.after(28)):
        answer = ProviderCaller("Fake", FakeConnector(), classify, sleep=sleeps.append).call(
            script, models=["fake/a", "fake/b"], name="op"
        )

    assert answer == "ok"
    assert len(script.timeouts) == 2


def test_a_server_error_that_names_a_wait_is_503_with_it() -> None:
    busy = ProviderFailure(FailureKind.SERVER_ERROR, 503, 120.0, "No available model provider").to_error(
        "OpenRouter", attempts=1
    )
    plain = ProviderFailure(FailureKind.SERVER_ERROR, 502, None, "bad gateway").to_error(
        "OpenRouter", attempts=3
    )

    assert (busy.status_code, busy.code, busy.retry_after) == (503, "provider_unavailable", 120.0)
    assert (plain.status_code, plain.code) == (502, "provider_unavailable")


def test_the_providers_message_quoted_to_the_caller_is_redacted() -> None:
    key = "sk-or-v1-" + "0123456789abcdef" * 4
    error = ProviderFailure(
        FailureKind.REJECTED, 400, message=f"Invalid request for key {key}: bad model"
    ).to_error("OpenRouter", attempts=1)

    assert "sk-or-v1-0123" not in error.message
    assert "bad model" in error.message


# -- "model gone" -------------------------------------------------------------------------------

GONE = ProviderFailure(FailureKind.MODEL_GONE, 404, message="models/old is not found for API version v1beta")


def test_a_gone_model_is_not_retried_the_next_model_answers_and_it_is_not_asked_again(
    caller: Callable[[], ProviderCaller[object]], sleeps: list[float]
) -> None:
    asked: list[str] = []

    def operation(client: object, attempt: Attempt) -> str:
        asked.append(attempt.model)
        if attempt.model == "old":
            raise Failing(GONE)
        return attempt.model

    with deadline_scope(Deadline.after(28)):
        first = caller().call(operation, models=["old", "new"], name="op")
        second = caller().call(operation, models=["old", "new"], name="op")

    assert (first, second) == ("new", "new")
    assert asked == ["old", "new", "new"], "asked once, not retried, remembered"
    assert sleeps == []


def test_a_gone_model_at_any_chain_length_and_all_gone_is_model_unavailable(
    caller: Callable[[], ProviderCaller[object]],
) -> None:
    asked: list[str] = []

    def operation(client: object, attempt: Attempt) -> str:
        asked.append(attempt.model)
        raise Failing(GONE)

    with deadline_scope(Deadline.after(28)), pytest.raises(ModelUnavailableError) as raised:
        caller().call(operation, models=["a", "b", "c", "d"], name="op")
    with deadline_scope(Deadline.after(28)), pytest.raises(ModelUnavailableError):
        caller().call(operation, models=["a", "b", "c", "d"], name="op")

    # Each model asked once per call, never retried; a chain the memory would leave empty is asked
    # again (a preference, not a ban: a passing "not found" must not refuse for the whole TTL).
    assert asked == ["a", "b", "c", "d"] * 2
    assert raised.value.status_code == 502
    assert "is not found for API version" in raised.value.message


def test_a_gone_fallback_named_by_the_provider_is_dropped_and_the_model_asked_again(
    caller: Callable[[], ProviderCaller[object]],
) -> None:
    seen: list[tuple[str, tuple[str, ...]]] = []

    def operation(client: object, attempt: Attempt) -> str:
        seen.append((attempt.model, attempt.fallbacks))
        if "x/gone" in attempt.fallbacks:
            raise Failing(
                ProviderFailure(
                    FailureKind.MODEL_GONE, 400, message="x/gone is not a valid model ID", model="x/gone"
                )
            )
        return "ok"

    with deadline_scope(Deadline.after(28)):
        assert caller().call(operation, models=["x/a", "x/gone", "x/b"], name="op") == "ok"

    assert seen == [("x/a", ("x/gone", "x/b")), ("x/a", ("x/b",))]


@pytest.mark.parametrize(
    ("message", "model"),
    [
        (
            "Publisher Model `projects/p/locations/us-central1/publishers/google/models/veo-x` was not "
            "found or your project does not have access to it.",
            "veo-x",
        ),
        (
            "models/img-y is not found for API version v1beta, or is not supported for generateContent.",
            "img-y",
        ),
    ],
)
def test_googles_model_not_found_is_model_gone(message: str, model: str) -> None:
    failure = classify_genai_error(
        _google_error(404, {"error": {"code": 404, "message": message, "status": "NOT_FOUND"}})
    )

    assert failure is not None
    assert (failure.kind, failure.model) == (FailureKind.MODEL_GONE, model)


def test_a_google_404_for_something_else_is_not_model_gone() -> None:
    """ "Requested entity was not found." names nothing: to an operation's check it is the operation
    (REJECTED); to a model's own request it is the model (probe21: gemini-cli#7507), gone once
    `models.get` confirms it (`unconfirmed`)."""
    body = {"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}}
    request = httpx2.Request("GET", "http://127.0.0.1/v1beta/models/m/operations/op-1")
    operation = genai_errors.APIError(404, body, httpx2.Response(404, request=request, json=body))

    failure = classify_genai_error(operation)
    to_the_model = classify_genai_error(_google_error(404, body))

    assert failure is not None
    assert failure.kind is FailureKind.REJECTED
    assert to_the_model is not None
    assert (to_the_model.kind, to_the_model.model, to_the_model.unconfirmed) == (
        FailureKind.MODEL_GONE,
        None,
        True,
    )


@pytest.mark.parametrize(
    ("status", "message", "kind", "model"),
    [
        (400, "acme/old is not a valid model ID", FailureKind.MODEL_GONE, "acme/old"),
        (404, "No endpoints found for acme/old.", FailureKind.MODEL_GONE, "acme/old"),
        (
            404,
            "No endpoints found that can handle the requested parameters. To learn more about provider "
            "routing, visit: https://openrouter.ai/docs/provider-routing",
            # Not gone (the model exists), but its endpoints cannot take this request: the next
            # model of the chain is asked (docs/models.md, "A model declined, not gone").
            FailureKind.MODEL_REFUSED,
            None,
        ),
    ],
)
def test_openrouters_model_gone_answers(
    status: int, message: str, kind: FailureKind, model: str | None
) -> None:
    failure = failure_for_status(status, retry_after=None, message=message, metadata={})

    assert (failure.kind, failure.model) == (kind, model)


def test_concurrent_first_requests_to_a_gone_model_ask_it_once() -> None:
    """A fan-out in one container (issue 21, probe21): while the first request to a model the
    container has not heard from is on the wire, a concurrent request for it waits for that answer
    (`first_contact_wait`), so a gone model is asked once; the second request goes to the fallback."""
    import threading

    asked: list[str] = []
    first_on_the_wire = threading.Event()
    answer_first = threading.Event()

    def operation(client: object, attempt: Attempt) -> str:
        asked.append(attempt.model)
        if attempt.model == "old":
            first_on_the_wire.set()
            assert answer_first.wait(30), "the test never let the first request answer"
            raise Failing(GONE)
        return attempt.model

    shared = ProviderCaller("Fake", FakeConnector(), classify, sleep=lambda _: None, first_contact_wait=30)
    answers: list[str] = []

    def request() -> None:
        with deadline_scope(Deadline.after(28)):
            answers.append(shared.call(operation, models=["old", "new"], name="op"))

    first = threading.Thread(target=request)
    first.start()
    assert first_on_the_wire.wait(30)
    second = threading.Thread(target=request)
    second.start()
    answer_first.set()
    first.join(30)
    second.join(30)

    assert answers == ["new", "new"]
    assert asked.count("old") == 1, asked


def test_the_policy_of_one_settings_object_is_made_once_and_follows_new_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from contentgen.config import get_settings

    first = retry.RetryPolicy.from_settings(get_settings())
    assert retry.RetryPolicy.from_settings(get_settings()) is first

    monkeypatch.setenv("PROVIDER_MAX_ATTEMPTS", str(first.max_attempts + 1))
    get_settings.cache_clear()  # as the tests' environment fixtures do
    try:
        changed = retry.RetryPolicy.from_settings(get_settings())
    finally:
        get_settings.cache_clear()

    assert changed.max_attempts == first.max_attempts + 1
