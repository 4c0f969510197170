"""The one policy for every provider call: retries, model fallback, breakers, limiter, logging.

A connector classifies its SDK's exceptions into `ProviderFailure`s; this module decides whether
to try again, how long to wait (honouring `Retry-After`), and stops before the Lambda's deadline
minus a safety margin, raising the `ProviderError` that maps to 502/503/504. The SDKs' own retries
are switched off so that nothing retries twice and nothing waits past the deadline. Around each
request sit the model's circuit breaker (`contentgen.core.breaker`) and the provider's
per-container limiter (`contentgen.core.limiter`); when a model keeps failing the next one in the
function's list is tried.

Failures a provider reports inside an HTTP 200 reach this policy as exceptions the connector
classifies like the status they name, so they are retried, counted and fallen back on like any
other. An answer the SDK could not read (`UNREADABLE`: truncated, HTML, mis-encoded, of the wrong
shape) is retried like a server error. Final kinds (a rejected request, an empty account, a
moderation flag, a safety filter's refusal reported as an error) end the call after the attempt
that met them; a model that declines (`ContentFilteredError`, raised by the adapter) ends it too,
logged with outcome `declined`. For work that is not idempotent (`idempotent=False`, a Veo start)
a timeout, a connection dropped after the request was sent (`DROPPED`; one never opened is
`CONNECTION`, retried) or an unreadable answer is final too, flagged `unconfirmed_paid_work`: the
provider may have started it. A caller that comes back through its queue (`wait=False`, the video
worker) makes one request per model and is handed the provider's wait instead of waiting. Each attempt's
log line carries the provider's own message (`provider_message`) and its wait (`retry_after_s`).

A model the provider no longer serves (`MODEL_GONE`: Google's 404 NOT_FOUND for a model, OpenRouter's
"No endpoints found for X." / "X is not a valid model ID", classified by the connectors) is not
retried: the next model of the chain is tried, at any chain length, and the container remembers
the model for `MODEL_UNAVAILABLE_TTL_SECONDS` (no request is sent to it in that time; one warning
names it and its catalog successor, and the `ModelUnavailable` metric counts it, watched by an
alarm in template.yaml).

A wait the deadline cannot meet is answered at once (503 with `Retry-After`); when it covers the
whole account (`ProviderFailure.account_wide`, e.g. OpenRouter's own rate limiter) no other model
is sent a request inside it, while one model's wait (an upstream provider's 429, a 503) still
falls back to the next model.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from contentgen.billing.meter import add_request, before_request
from contentgen.catalog import bare_model_id, successor
from contentgen.config import Settings, get_settings
from contentgen.core.breaker import ProviderCircuitOpenError, breaker_for
from contentgen.core.deadline import Deadline, current_deadline
from contentgen.core.limiter import SlotUnavailable, limiter_for
from contentgen.errors import (
    CircuitOpenError,
    ContentFilteredError,
    ContentgenError,
    ContentModeratedError,
    DeadlineExceededError,
    InputUnreachableError,
    ModelNotAvailableToKeyError,
    ModelRefusedRequestError,
    ModelUnavailableError,
    ProviderAuthError,
    ProviderBusyError,
    ProviderError,
    ProviderInsufficientCreditsError,
    ProviderQuotaExhaustedError,
    ProviderRateLimitedError,
    ProviderRequestRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from contentgen.observability import (
    AttemptRecord,
    count_model_unavailable,
    logger,
    provider_span,
    record_attempt,
    redact,
)

ClientT = TypeVar("ClientT")
ClientT_co = TypeVar("ClientT_co", covariant=True)
ResultT = TypeVar("ResultT")


def meter_and_record(record: AttemptRecord) -> None:
    """Count one provider request on the invocation's meter (across fan-out threads), then write
    its log line and EMF blob with the invocation's running cost."""
    model = record.answered_by or record.model
    invocation_cost = add_request(
        model=model,
        ok=record.outcome == "ok",
        prompt_tokens=record.prompt_tokens,
        completion_tokens=record.completion_tokens,
        cost_usd=record.cost_usd,
    )
    record_attempt(record, invocation_cost=invocation_cost)


class FailureKind(StrEnum):
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    # The connection failed before the request was sent (refused, DNS, connect timeout): never
    # reached the provider, so safe to send again even for work that is not idempotent.
    CONNECTION = "connection"
    # The connection failed after the request was (or may have been) sent and before an answer
    # (a read or write error, "Server disconnected without sending a response"): the provider may
    # have received and done the work (`contentgen.connectors.transport`).
    DROPPED = "dropped"
    AUTH = "auth"
    REJECTED = "rejected"
    INSUFFICIENT_CREDITS = "insufficient_credits"
    MODERATED = "moderated"
    # An answer the SDK could not read (truncated or non-JSON body, bad encoding, wrong shape).
    UNREADABLE = "unreadable"
    # The provider's safety filter refused the prompt, reported as an error (422 content_filtered).
    DECLINED = "declined"
    # A quota for a long period (a day) is used up: no retry inside this invocation can succeed,
    # and it says nothing about the model's health (503 with Retry-After until the reset).
    QUOTA_EXHAUSTED = "quota_exhausted"
    # The provider could not fetch an input the caller gave by URL (422 naming the field).
    INPUT_UNREACHABLE = "input_unreachable"
    # The provider no longer serves the model (retired, unknown, no endpoint left): not retried,
    # the next model of the chain is tried, and the model is remembered (`remember_model_gone`).
    MODEL_GONE = "model_gone"
    # The model exists but cannot do this request as sent (no endpoint takes a parameter sent):
    # not retried, the next model of the chain is tried, nothing remembered.
    MODEL_REFUSED = "model_refused"
    # The provider serves the model, but not to this key (a free-tier key, a paid-only model): not
    # retried, the next model is tried, nothing remembered or counted as gone (503, final).
    KEY_DECLINED = "key_declined"

    @property
    def retryable(self) -> bool:
        return self not in _FINAL_KINDS


# Failures that another request cannot fix: answered after the one attempt that met them.
_FINAL_KINDS = frozenset(
    {
        FailureKind.AUTH,
        FailureKind.REJECTED,
        FailureKind.INSUFFICIENT_CREDITS,
        FailureKind.MODERATED,
        FailureKind.DECLINED,
        FailureKind.QUOTA_EXHAUSTED,
        FailureKind.INPUT_UNREACHABLE,
        FailureKind.MODEL_GONE,
        FailureKind.MODEL_REFUSED,
        FailureKind.KEY_DECLINED,
    }
)
# Failures after which a provider may have started the work it was asked for: for work that is
# not idempotent (a Veo start) they are final, neither retried nor sent to the next model.
_MAYBE_STARTED_KINDS = frozenset({FailureKind.TIMEOUT, FailureKind.UNREADABLE, FailureKind.DROPPED})


_ERROR_FOR_KIND: dict[FailureKind, type[ContentgenError]] = {
    FailureKind.RATE_LIMITED: ProviderRateLimitedError,
    FailureKind.SERVER_ERROR: ProviderUnavailableError,
    FailureKind.CONNECTION: ProviderUnavailableError,
    FailureKind.DROPPED: ProviderUnavailableError,
    FailureKind.TIMEOUT: ProviderTimeoutError,
    FailureKind.AUTH: ProviderAuthError,
    FailureKind.REJECTED: ProviderRequestRejectedError,
    FailureKind.INSUFFICIENT_CREDITS: ProviderInsufficientCreditsError,
    FailureKind.MODERATED: ContentModeratedError,
    FailureKind.UNREADABLE: ProviderUnavailableError,
    FailureKind.DECLINED: ContentFilteredError,
    FailureKind.QUOTA_EXHAUSTED: ProviderQuotaExhaustedError,
    FailureKind.INPUT_UNREACHABLE: InputUnreachableError,
    FailureKind.MODEL_GONE: ModelUnavailableError,
    FailureKind.MODEL_REFUSED: ModelRefusedRequestError,
    FailureKind.KEY_DECLINED: ModelNotAvailableToKeyError,
}

_MESSAGE_FOR_KIND: dict[FailureKind, str] = {
    FailureKind.RATE_LIMITED: "is rate limiting requests",
    FailureKind.SERVER_ERROR: "returned a server error",
    FailureKind.CONNECTION: "could not be reached",
    FailureKind.DROPPED: "closed the connection without answering",
    FailureKind.TIMEOUT: "did not answer in time",
    FailureKind.AUTH: "rejected the API key",
    FailureKind.REJECTED: "rejected the request",
    FailureKind.INSUFFICIENT_CREDITS: (
        "refused the request: the account is out of credits or the key is over its credit limit"
    ),
    FailureKind.MODERATED: "moderation flagged the input",
    FailureKind.UNREADABLE: "sent an answer that could not be read",
    FailureKind.DECLINED: "declined the prompt (safety filter)",
    FailureKind.QUOTA_EXHAUSTED: "quota is used up until its reset",
    FailureKind.INPUT_UNREACHABLE: "could not use the URL given (not downloadable, or not an image)",
    FailureKind.MODEL_GONE: "no longer serves the model",
    FailureKind.MODEL_REFUSED: "cannot serve this request with the model",
    FailureKind.KEY_DECLINED: (
        "does not serve the model to this API key (e.g. a free-tier key and a paid-only model: enable "
        "billing on the key's project, or configure a model the key may use)"
    ),
}

# The provider's own message is quoted to the caller, redacted (`observability.redact`, the same
# as the logs) and clipped; never for AUTH (a 401 may echo part of the key).
_QUOTED_CHARS = 300
# The upstream provider's own error (OpenRouter `error.metadata.raw`), quoted after the message.
_UPSTREAM_CHARS = 300


@dataclass(frozen=True)
class ProviderFailure:
    """What went wrong with one attempt, in SDK-neutral terms.

    `status` is the HTTP status (or, for a failure reported inside a 200, the body's `error.code`);
    `retry_after` the provider's wait in seconds (`contentgen.core.waits`); `message` the provider's
    own words; `reasons` what a moderation flag names (OpenRouter `error.metadata.reasons`);
    `account_wide` whether the wait covers every model of the account (the provider's own rate
    limiter answered, not one model's upstream): such a wait that the deadline cannot meet ends
    the call without falling back to the next model (see `ProviderCaller.call`).
    `upstream` names the provider behind a router and `upstream_message` its own words
    (OpenRouter's "Provider returned error" carries them in `error.metadata.provider_name` and
    `error.metadata.raw`): both are quoted to the caller (redacted, at most `_UPSTREAM_CHARS`) and
    logged. `field` is the request field an `INPUT_UNREACHABLE` failure is about (`image_url`).
    `model` (for `MODEL_GONE`) is the model the provider named, when it is not the one asked (OpenRouter
    refuses a whole request for one unknown id in its `models` list). `unconfirmed` (for
    `MODEL_GONE`): the wording also means something else (`GoneWording.ambiguous`, e.g. a free-tier
    key), so the call policy confirms with the caller's `confirm_gone` before remembering it.
    """

    kind: FailureKind
    status: int | None = None
    retry_after: float | None = None
    message: str | None = None
    reasons: tuple[str, ...] = ()
    account_wide: bool = False
    upstream: str | None = None
    upstream_message: str | None = None
    field: str = "image_url"

    def upstream_text(self) -> str | None:
        """`[provider] words` of the upstream provider's own error, redacted and bounded."""
        if not self.upstream and not self.upstream_message:
            return None
        words = redact(self.upstream_message or "")[:_UPSTREAM_CHARS]
        name = redact(self.upstream or "")[:60]
        return f"[{name}] {words}".strip() if name else words

    model: str | None = None
    unconfirmed: bool = False

    def to_error(self, provider: str, *, attempts: int) -> ContentgenError:
        """The caller-facing error: `ProviderError` subclasses (502/503/504) or, for a moderation
        flag, `ContentModeratedError` (422); the provider's message is quoted, redacted (except
        for auth, never quoted). A server error that named a wait (`Retry-After`) is 503
        (`ProviderBusyError`), so callers come back after it."""
        status = f" (HTTP {self.status})" if self.status else ""
        tries = f" after {attempts} attempt{'s' if attempts != 1 else ''}"
        what = _MESSAGE_FOR_KIND[self.kind]
        if self.reasons:
            what = f"{what} ({', '.join(self.reasons)})"
        quoted = ""
        if self.message and self.kind is not FailureKind.AUTH:
            quoted = f": {redact(self.message)[:_QUOTED_CHARS]}"
        upstream = self.upstream_text() if self.kind is not FailureKind.AUTH else None
        if upstream:
            quoted = f"{quoted or ':'} (upstream {upstream})"
        if self.kind is FailureKind.INPUT_UNREACHABLE:
            return InputUnreachableError(self.field, f"{self.field}: {provider} {what}{status}{quoted}")
        error = _ERROR_FOR_KIND[self.kind]
        if error is ProviderUnavailableError and self.retry_after is not None:
            error = ProviderBusyError
        return error(f"{provider} {what}{status}{tries}{quoted}", retry_after=self.retry_after)


class Connector(Protocol[ClientT_co]):
    def get(self) -> ClientT_co: ...
    def reset(self) -> None: ...


# `RetryPolicy.from_settings`'s policies, by the settings object's id (the object kept with it, so
# the id is never another's).
_policies: dict[int, tuple[Settings, RetryPolicy]] = {}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_delay: float
    max_delay: float
    attempt_timeout: float
    margin: float
    min_attempt: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy `settings` set; the same (frozen) object for the same settings object, made
        once: `get_settings()` gives one object until the environment changes."""
        known = _policies.get(id(settings))
        if known is not None and known[0] is settings:
            return known[1]
        policy = cls(
            max_attempts=settings.provider_max_attempts,
            base_delay=settings.retry_base_delay_seconds,
            max_delay=settings.retry_max_delay_seconds,
            attempt_timeout=settings.provider_timeout_seconds,
            margin=settings.deadline_margin_seconds,
            min_attempt=settings.min_attempt_seconds,
        )
        if len(_policies) >= 64:
            _policies.clear()  # settings made again and again (tests changing the environment)
        _policies[id(settings)] = (settings, policy)
        return policy

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt `attempt + 1`: the server's word, else full jitter."""
        if retry_after is not None:
            return max(0.0, retry_after)
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


@dataclass
class Attempt:
    """One request to one model, handed to the operation, which reports back what it got."""

    model: str
    fallbacks: tuple[str, ...]  # the models after this one (OpenRouter's own `models` list)
    timeout: float
    record: AttemptRecord

    def report(
        self,
        *,
        answered_by: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        cost_usd: float | None = None,
        response_id: str | None = None,
        output: str | None = None,
        **details: Any,
    ) -> None:
        record = self.record
        record.answered_by = answered_by or record.answered_by
        record.prompt_tokens = prompt_tokens
        record.completion_tokens = completion_tokens
        record.cost_usd = cost_usd
        record.response_id = response_id
        record.output = output
        record.details.update(details)


class _AccountWait(Exception):
    """A provider wait that covers every model of the account and that the deadline cannot meet:
    `error` (503 with `Retry-After`) is the answer, and no other model is tried."""

    def __init__(self, error: ContentgenError) -> None:
        super().__init__(error.message)
        self.error = error


def _answer(failure: ProviderFailure, provider: str, attempts: int) -> Exception:
    """What ends a model's attempts: its error, or, for a wait that covers the whole account (not
    waited out here), that error wrapped so that no other model is sent a request inside it."""
    error = failure.to_error(provider, attempts=attempts)
    if failure.account_wide and failure.retry_after is not None:
        return _AccountWait(error)
    return error


# Failures after which the next model in the chain is worth trying (the provider, not the request).
_FALLBACK_ERRORS = (
    ModelUnavailableError,
    ModelRefusedRequestError,
    ModelNotAvailableToKeyError,
    ProviderRateLimitedError,
    ProviderUnavailableError,
    ProviderTimeoutError,
    CircuitOpenError,
)
_COUNTED_BY_BREAKER = frozenset(
    {
        FailureKind.RATE_LIMITED,
        FailureKind.SERVER_ERROR,
        FailureKind.TIMEOUT,
        FailureKind.CONNECTION,
        FailureKind.DROPPED,
        FailureKind.UNREADABLE,
    }
)


# Models a provider said it no longer serves, per container: (provider, model) -> (monotonic time
# until which no request is sent to it, the provider's words).
_gone_models: dict[tuple[str, str], tuple[float, str]] = {}
_gone_lock = threading.Lock()


def gone_model_message(provider: str, model: str) -> str | None:
    """The provider's words when `model` (any of Google's resource-name forms: the catalog's id is
    the key) was found gone by this container within the TTL, else None."""
    key = (provider, bare_model_id(model))
    with _gone_lock:
        entry = _gone_models.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del _gone_models[key]
            return None
        return entry[1]


def remember_model_gone(provider: str, model: str, message: str, ttl_seconds: float) -> bool:
    """Remember that `provider` no longer serves `model` for `ttl_seconds`; True when it was not
    remembered already (the caller then logs one warning and counts `ModelUnavailable`)."""
    key = (provider, bare_model_id(model))
    with _gone_lock:
        entry = _gone_models.get(key)
        fresh = entry is None or entry[0] <= time.monotonic()
        _gone_models[key] = (time.monotonic() + ttl_seconds, message)
    return fresh


def reset_gone_models() -> None:
    """Forget every gone model, and which models have answered (a new container; tests)."""
    with _gone_lock:
        _gone_models.clear()
    with _contact_lock:
        _contacted.clear()
        _first_contacts.clear()


# First contact with a model, per container: while the first request to a model this container has
# not heard from is on the wire, concurrent requests for the same model (a fan-out: a short's images,
# a story's sets) wait for its answer rather than each asking a model that may be gone, so a
# retired model is asked ONCE per container even under concurrency (issue 21). Once the model has
# answered anything but "gone" it is `_contacted` and nobody waits for it again.
_contact_lock = threading.Lock()
_first_contacts: dict[tuple[str, str], threading.Event] = {}
_contacted: set[tuple[str, str]] = set()


def _claim_first_contact(provider: str, model: str) -> tuple[threading.Event | None, threading.Event | None]:
    """(the event this caller sets when the model has answered, when it is the first to ask;
    the event to wait for, when another request's first contact is on the wire)."""
    key = (provider, bare_model_id(model))
    with _contact_lock:
        if key in _contacted:
            return None, None
        pending = _first_contacts.get(key)
        if pending is not None:
            return None, pending
        mine = _first_contacts[key] = threading.Event()
        return mine, None


def _release_first_contact(provider: str, model: str, event: threading.Event, *, answered: bool) -> None:
    """The first contact is over: `answered` (anything but "gone") marks the model contacted."""
    key = (provider, bare_model_id(model))
    with _contact_lock:
        if answered:
            _contacted.add(key)
        if _first_contacts.get(key) is event:
            del _first_contacts[key]
    event.set()


def announce_model_gone(provider: str, model: str, message: str) -> None:
    """Remember `model` as gone for the configured TTL (`MODEL_UNAVAILABLE_TTL_SECONDS`); the first
    time, one warning naming it and its catalog successor and one `ModelUnavailable` metric (e.g.
    a primary that OpenRouter's own `models` fallback walked past, `generation.completions`)."""
    _announce_gone(provider, model, message, get_settings().model_unavailable_ttl_seconds)


def _announce_gone(provider: str, model: str, message: str, ttl_seconds: float) -> None:
    """Remember `model` as gone; the first time in the TTL, one warning naming the model and its
    catalog successor. Each request that found it gone counts one `ModelUnavailable`."""
    if not remember_model_gone(provider, model, message, ttl_seconds):
        count_model_unavailable(model=model)
        return
    logger.warning(
        "model unavailable",
        extra={
            "provider": provider,
            "model": model,
            "successor": successor(model) or "none in the catalog",
            "provider_message": redact(message)[:_QUOTED_CHARS],
            "not_asked_again_for_s": ttl_seconds,
        },
    )
    count_model_unavailable(model=model)


class _MaybeStartedError(Exception):
    """Carries the error of a non-idempotent call that may have started its work past `call`'s
    model fallback (`_MAYBE_STARTED_KINDS`)."""

    def __init__(self, error: ContentgenError) -> None:
        super().__init__(error.message)
        self.error = error


class ProviderCaller(Generic[ClientT]):
    """Every request to one provider: model fallback, circuit breakers, limiter, retries, logging.

    `call(operation, models=...)` runs `operation(client, attempt)` for the first model whose
    breaker admits it; transient failures are retried under the one retry policy; when a model
    keeps failing, or its breaker is open, the next model is tried while the invocation's
    remaining time still allows a whole attempt. Each request gets one log line and one EMF blob.
    """

    def __init__(
        self,
        provider: str,
        connector: Connector[ClientT],
        classify: Callable[[BaseException], ProviderFailure | None],
        *,
        sleep: Callable[[float], None] | None = None,
        confirm_gone: Callable[[ClientT, str], bool | None] | None = None,
        first_contact_wait: float = 0.0,
    ) -> None:
        """`confirm_gone(client, model)`: asked when the provider's "gone" wording is ambiguous
        (`ProviderFailure.unconfirmed`); True: gone; False: the provider still lists the model (so
        it declined this key, `KEY_DECLINED`); None: could not tell (taken as gone, the wording's
        first meaning). `first_contact_wait`: seconds a request waits, at most, for another request's
        first contact with a model this container has not heard from (0: none; see
        `_claim_first_contact`)."""
        self.provider = provider
        self._first_contact_wait = first_contact_wait
        self._connector = connector
        self._classify = classify
        self._sleep = sleep
        self._confirm_gone = confirm_gone

    def call(
        self,
        operation: Callable[[ClientT, Attempt], ResultT],
        *,
        models: Sequence[str],
        name: str,
        prompt: str | None = None,
        idempotent: bool = True,
        wait: bool = True,
        cost_bound: Callable[[str], Decimal | None] | None = None,
        new_work: bool = True,
        review: Callable[[ResultT, Attempt], None] | None = None,
    ) -> ResultT:
        """`operation` under the policy. `cost_bound(model)`: the most one request to `model` can
        cost (USD; None: no known price), reserved against the key's budget before each attempt. `idempotent=False` (an operation that starts paid work at
        the provider, such as a Veo start): a timeout, a connection dropped after the request was
        sent, or an answer that could not be read is final, neither retried nor sent to the next
        model, since the provider may have started (and billed) the work it never answered for
        readably; the error raised is flagged `unconfirmed_paid_work`. `wait=False` (a caller that
        reschedules through its queue, such as the video worker): one attempt per model and no
        wait in this invocation, neither a backoff nor the limiter's pacing; the error carries the
        provider's wait (`retry_after`) for the caller to come back after it. `new_work=False` (a
        status check or download of an operation the provider is already running, and paid for):
        the container's "model gone" memory is not consulted, since it was learnt from a *start*
        (Vertex AI's 404 "Publisher Model ... was not found or your project does not have access to
        it" also means a region or access problem) and says nothing about work already accepted;
        the provider is asked, and only its own answer can fail the job. `review(result, attempt)`:
        called with an answered request's result once it is timed and counted as a success, before
        its log line and EMF blob are written, so that what the caller finds in the answer (e.g. a
        reply accepted despite soft limits) goes on that request's record (`attempt.record`); the
        record is written whatever `review` raises."""
        if not models:
            raise ValueError("no model to call")
        policy = RetryPolicy.from_settings(get_settings())
        deadline = current_deadline()
        # The container's "gone" memory steers a request to the models it does not remember gone;
        # a chain it would leave EMPTY is asked anyway (a preference, not a ban): Vertex's "was not
        # found or your project does not have access to it" and OpenRouter's "No endpoints found for
        # X." also answer passing conditions, and a refusal from memory alone would last the TTL.
        consult = new_work and any(gone_model_message(self.provider, m) is None for m in models)
        # A container's first request: the key's read starts now, so its round trip overlaps the
        # spend ledger's reservation (`before_request`) instead of following it. A connector may
        # offer `read_ahead()`: it returns the function that discards a value nobody took.
        read_ahead = getattr(self._connector, "read_ahead", None)
        discard: Callable[[], None] | None = read_ahead() if read_ahead is not None else None
        try:
            return self._call_models(
                operation,
                models=models,
                name=name,
                prompt=prompt,
                idempotent=idempotent,
                wait=wait,
                cost_bound=cost_bound,
                new_work=new_work,
                review=review,
                policy=policy,
                deadline=deadline,
                consult=consult,
            )
        finally:
            if discard is not None:
                discard()  # a key read ahead serves this call only

    def _call_models(
        self,
        operation: Callable[[ClientT, Attempt], ResultT],
        *,
        models: Sequence[str],
        name: str,
        prompt: str | None,
        idempotent: bool,
        wait: bool,
        cost_bound: Callable[[str], Decimal | None] | None,
        new_work: bool,
        review: Callable[[ResultT, Attempt], None] | None,
        policy: RetryPolicy,
        deadline: Deadline,
        consult: bool,
    ) -> ResultT:
        """`call`'s walk along the chain: each model's attempts (`_call_model`) until one answers."""
        last_error: ProviderError | None = None
        with provider_span(f"## {self.provider} {name}", models[0]):
            for position, model in enumerate(models):
                first_contact: threading.Event | None = None
                if new_work and self._first_contact_wait > 0:
                    first_contact, pending = _claim_first_contact(self.provider, model)
                    if pending is not None:
                        # Another request's first contact with this model is on the wire: wait
                        # for its answer, briefly (a "gone" 404 comes back at once; a model that
                        # is generating is alive, and the wait ends without it).
                        pending.wait(
                            max(
                                0.0,
                                min(
                                    self._first_contact_wait,
                                    deadline.remaining() - policy.margin - policy.min_attempt,
                                ),
                            )
                        )
                remembered = gone_model_message(self.provider, model) if consult else None
                if remembered is not None and first_contact is not None:
                    _release_first_contact(self.provider, model, first_contact, answered=False)
                    first_contact = None
                if remembered is not None:
                    # Found gone by this container within the TTL: not asked again. Counted again
                    # (`ModelUnavailable`, one per request that met it) so that the alarm stays in
                    # ALARM while requests are served around a gone model, though no request asks it.
                    count_model_unavailable(model=model)
                    last_error = ModelUnavailableError(
                        f"{self.provider} no longer serves {model}: {redact(remembered)[:_QUOTED_CHARS]}"
                    )
                    continue
                if position and last_error is not None:
                    if deadline.remaining() - policy.margin < policy.min_attempt:
                        if first_contact is not None:  # not asked: nobody waits on it
                            _release_first_contact(self.provider, model, first_contact, answered=False)
                        break
                    logger.warning(
                        "model fallback",
                        extra={
                            "provider": self.provider,
                            "from_model": models[position - 1],
                            "to_model": model,
                            "reason": last_error.code if last_error else None,
                        },
                    )
                try:
                    return self._call_model(
                        operation,
                        model=model,
                        fallbacks=tuple(models[position + 1 :]),
                        fallback_from=models[0] if position else None,
                        name=name,
                        prompt=prompt,
                        policy=policy,
                        deadline=deadline,
                        idempotent=idempotent,
                        wait=wait,
                        cost_bound=cost_bound,
                        first_contact=first_contact,
                        review=review,
                    )
                except ProviderCircuitOpenError:
                    raise  # the provider is down for every model: nothing to fall back to
                except _MaybeStartedError as exc:
                    raise exc.error from None  # another model would start the work again
                except _AccountWait as stop:
                    raise stop.error from None  # every model of the account waits the same
                except _FALLBACK_ERRORS as exc:
                    last_error = exc
                finally:
                    if first_contact is not None and not first_contact.is_set():
                        # Ended before any answer (no time left, the budget): nobody waits on it.
                        _release_first_contact(self.provider, model, first_contact, answered=False)
        assert last_error is not None
        raise last_error

    def _confirmed(self, client: ClientT, failure: ProviderFailure, model: str) -> ProviderFailure:
        """An ambiguous "gone" answer settled by the provider's own model metadata: still listed,
        it is `KEY_DECLINED` (the model is served, not to this key); not listed or not known, gone."""
        if self._confirm_gone is None:
            return failure
        asked = failure.model or model
        try:
            gone = self._confirm_gone(client, asked)
        except Exception as exc:  # a failed check leaves the answer's first meaning
            logger.info(
                "model check failed",
                extra={"provider": self.provider, "model": asked, "reason": str(exc)[:200]},
            )
            return failure
        if gone is False:
            logger.warning(
                "model not available to this key",
                extra={
                    "provider": self.provider,
                    "model": asked,
                    "provider_message": redact(failure.message or "")[:_QUOTED_CHARS],
                },
            )
            return replace(failure, kind=FailureKind.KEY_DECLINED, unconfirmed=False)
        return failure

    def _call_model(
        self,
        operation: Callable[[ClientT, Attempt], ResultT],
        *,
        model: str,
        fallbacks: tuple[str, ...],
        fallback_from: str | None,
        name: str,
        prompt: str | None,
        policy: RetryPolicy,
        deadline: Deadline,
        idempotent: bool = True,
        wait: bool = True,
        cost_bound: Callable[[str], Decimal | None] | None = None,
        first_contact: threading.Event | None = None,
        review: Callable[[ResultT, Attempt], None] | None = None,
    ) -> ResultT:
        """One model's attempts. `first_contact`: this request is the container's first to the
        model; released (other requests waiting on it go on) once the model has answered."""
        breaker = breaker_for(self.provider, model)
        limiter = limiter_for(self.provider)
        attempt = 0
        refreshed_key = False
        while True:
            budget = deadline.remaining() - policy.margin
            if budget < policy.min_attempt:
                raise DeadlineExceededError(
                    f"not enough time left to call {self.provider} "
                    f"after {attempt} attempt{'s' if attempt != 1 else ''}"
                )
            # The key's budget reserves the request's most (contentgen.stores.ledger) or refuses it: 429.
            before_request(cost_bound(model) if cost_bound is not None else None)
            permit = breaker.admit()
            attempt += 1
            record = AttemptRecord(
                provider=self.provider,
                operation=name,
                model=model,
                attempt=attempt,
                fallback_from=fallback_from,
                breaker="probe" if permit.probe else "closed",
                prompt=prompt,
            )
            unclassified = False
            try:
                client = self._connector.get()
                # Waiting for a slot may not eat into the time the attempt itself needs.
                with limiter.slot(budget - policy.min_attempt if wait else 0.0) as queued:
                    record.queued_ms = queued * 1000
                    timeout = min(policy.attempt_timeout, deadline.remaining() - policy.margin)
                    if timeout <= 0:
                        # Building the client (a cold SSM read) or the queue ate the time left; a
                        # non-positive timeout would reach the socket as a ValueError (a 500).
                        raise DeadlineExceededError(
                            f"not enough time left to call {self.provider} "
                            f"after {attempt - 1} attempt{'s' if attempt != 2 else ''}"
                        )
                    started = time.perf_counter()
                    try:
                        live = tuple(m for m in fallbacks if gone_model_message(self.provider, m) is None)
                        asked = Attempt(model, live, timeout, record)
                        result = operation(client, asked)
                        failure = None
                    except Exception as exc:
                        failure = self._classify(exc)
                        if failure is None:
                            unclassified = True
                            raise
                    finally:
                        record.latency_ms = (time.perf_counter() - started) * 1000
            except SlotUnavailable as exc:
                breaker.released(permit)
                refused = ProviderRateLimitedError(
                    f"{self.provider} is rate limiting requests; none could start in the time left",
                    retry_after=exc.wait,
                )
                refused.not_sent = True  # no request left this container
                raise refused from None
            except BaseException as exc:
                breaker.released(permit)
                if isinstance(exc, ContentFilteredError):
                    # The model answered and declined: one log line for the (paid) attempt.
                    record.outcome = "declined"
                    record.details["provider_message"] = exc.message
                    meter_and_record(record)
                elif unclassified:
                    # Raised by the operation itself (e.g. after the provider answered): the
                    # request may be paid, so it is still logged, metered and charged.
                    record.outcome = "error"
                    meter_and_record(record)
                raise
            if failure is None:
                if first_contact is not None:
                    _release_first_contact(self.provider, model, first_contact, answered=True)
                breaker.succeeded(permit)
                limiter.succeeded()
                try:
                    if review is not None:
                        review(result, asked)
                finally:
                    meter_and_record(record)
                return result

            if failure.kind is FailureKind.MODEL_GONE and failure.unconfirmed:
                failure = self._confirmed(client, failure, model)
            if first_contact is not None and failure.kind is not FailureKind.MODEL_GONE:
                _release_first_contact(self.provider, model, first_contact, answered=True)
            record.outcome = failure.kind.value
            record.http_status = failure.status
            if failure.message:
                record.details["provider_message"] = failure.message
            if failure.upstream:
                record.details["upstream_provider"] = failure.upstream
            if failure.upstream_message:
                record.details["upstream_message"] = redact(failure.upstream_message)[:_UPSTREAM_CHARS]
            if failure.retry_after is not None:
                record.details["retry_after_s"] = failure.retry_after
            meter_and_record(record)
            if failure.kind in _COUNTED_BY_BREAKER:
                breaker.failed(permit)
            else:
                breaker.released(permit)
            if failure.kind is FailureKind.AUTH and not refreshed_key:
                # The key may have been rotated in SSM: drop the client and key, try once more.
                refreshed_key = True
                self._connector.reset()
                continue
            if failure.kind is FailureKind.MODEL_GONE:
                gone = failure.model or model
                ttl = get_settings().model_unavailable_ttl_seconds
                _announce_gone(self.provider, gone, failure.message or f"{gone} is not served", ttl)
                if first_contact is not None:  # remembered first: the waiting requests skip it
                    _release_first_contact(self.provider, model, first_contact, answered=False)
                if gone != model and gone in fallbacks:
                    continue  # a fallback the provider refused the request for: ask again without it
                raise _answer(failure, self.provider, attempt)
            if not idempotent and failure.kind in _MAYBE_STARTED_KINDS:
                error = failure.to_error(self.provider, attempts=attempt)
                error.unconfirmed_paid_work = True
                raise _MaybeStartedError(error)
            if not failure.kind.retryable or attempt >= policy.max_attempts or not wait:
                raise _answer(failure, self.provider, attempt)
            delay = policy.backoff(attempt, failure.retry_after)
            if deadline.remaining() - policy.margin - delay < policy.min_attempt:
                # Waiting would leave no time for the next attempt: answer now.
                raise _answer(failure, self.provider, attempt)
            if failure.kind is FailureKind.RATE_LIMITED:
                # Every request of this container waits out the 429, not only this one.
                limiter.throttled(delay)
            else:
                (self._sleep or time.sleep)(delay)
