"""Run a generation once per key: Powertools' idempotency utility on a DynamoDB table.

The key is the caller's `request_id` (events) or `Idempotency-Key` header (HTTP), scoped by route:
each record's id begins with its owner's route (`stories/segments#<hash>`, Powertools'
`key_prefix`), the only ids that function's role may touch (`contentgen.stores.record_keys`). Within a
route the hash covers a `scope` too (`http_scope`): an `Idempotency-Key` belongs to the API key
that sent it (`api-key:<id>`; a proxy event without a key id, a direct invocation, to `no-api-key`)
and events' `request_id`s to `event`, so one tenant's key neither replays nor reveals another's,
and a queued `request_id` never meets an HTTP answer.
The request itself, parsed and canonical (sorted keys, no whitespace: re-serialised, re-ordered or
base64-encoded on the wire it is the same request), is the payload checked on a repeat: the same
key with a different request is a 409; a repeat while the first is still running is a 409 too
(events retry later). A repeat after success returns the stored outcome without calling the
provider. Outcomes that are server errors or 429 (budget exceeded), and refusals of the request as
sent (validation, `refused_before_work`), are not stored, so a retry (or the corrected request)
runs again; except a server error whose paid provider work may have started with an unknown result
(`unconfirmed_paid_work`, e.g. a timed-out video start): running it again could pay twice, so it is
stored and replayed like a success. The in-progress lock expires with the Lambda's remaining time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from contentgen.clients.aws import get_dynamodb_client
from contentgen.clients.lazy import LazySingleton
from contentgen.config import get_settings
from contentgen.errors import ConfigurationError, ConflictError, IdempotencyUnavailableError
from contentgen.observability import logger, metrics
from contentgen.stores.partials import request_parts
from contentgen.stores.record_keys import owner_prefix

Outcome = dict[str, Any]


class _NotStored(Exception):
    """Carries an outcome that must not be remembered (a server error) out of the idempotent call."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__("not stored")
        self.outcome = outcome


@dataclass
class _Runner:
    run: Callable[..., Outcome]
    config: Any


def _build(owner: str) -> _Runner:
    # Cold start: this Powertools utility loads on the path that uses it, not at import.
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    settings = get_settings()
    if settings.idempotency_table is None:
        raise ConfigurationError("service misconfigured: environment variable IDEMPOTENCY_TABLE is not set")
    store = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table, boto3_client=get_dynamodb_client()
    )
    config = IdempotencyConfig(
        event_key_jmespath="[scope, route, key]",
        payload_validation_jmespath="request",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=settings.idempotency_ttl_seconds,
    )

    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="call", persistence_store=store, config=config, key_prefix=owner_prefix(owner)
    )
    def run(*, call: dict[str, Any], execute: Callable[[], Outcome]) -> Outcome:
        outcome = execute()
        if not remembered(outcome):
            raise _NotStored(outcome)  # a 429 (over budget) must not answer the key's repeats
        return outcome

    return _Runner(run=run, config=config)


class _Runners:
    """One runner per owning route, each built on first use (a Lambda container has one owner;
    the local stack runs every function in one process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_owner: dict[str, LazySingleton[_Runner]] = {}

    def get(self, owner: str) -> _Runner:
        runner = self._by_owner.get(owner)
        if runner is None:
            with self._lock:
                runner = self._by_owner.setdefault(owner, LazySingleton(lambda: _build(owner)))
        return runner.get()

    def reset(self) -> None:
        with self._lock:
            self._by_owner.clear()


_runners = _Runners()

# Answers given before any work was done: the request was refused as sent (validation, no such
# route). They are not remembered, so the caller can fix the request and send it again with the
# same key, as Stripe does ("an idempotency key is not saved when the request fails validation",
# https://docs.stripe.com/api/idempotent_requests).
_REFUSED_CODES = frozenset(
    {
        "invalid_request",
        "invalid_json",
        "invalid_encoding",
        "payload_too_large",
        "unsupported_media_type",
        "not_found",
    }
)


def refused_before_work(outcome: Outcome) -> bool:
    """Whether `outcome` (`{"status_code", "body"}`) is a 4xx refusal of the request as sent."""
    status = int(outcome.get("status_code", 500))
    body = outcome.get("body")
    code = body.get("code") if isinstance(body, dict) else None
    return 400 <= status < 500 and (code in _REFUSED_CODES or status in (400, 404, 405, 413, 415))


def unconfirmed_paid_work(outcome: Outcome) -> bool:
    """Whether `outcome` is an error after which paid provider work may have started with an
    unknown result (its body says `"unconfirmed_paid_work": true`; `ContentgenError.unconfirmed_paid_work`)."""
    body = outcome.get("body")
    return isinstance(body, dict) and body.get("unconfirmed_paid_work") is True


def remembered(outcome: Outcome) -> bool:
    """Whether `outcome` (`{"status_code", "body"}`) is kept under its key and replayed: every
    outcome except server errors, 429s and refusals of the request as sent, unless paid work may
    have started (`unconfirmed_paid_work`): then running the request again could pay twice."""
    if unconfirmed_paid_work(outcome):
        return True
    status = int(outcome.get("status_code", 500))
    return not (status >= 500 or status == 429 or refused_before_work(outcome))


# The scope of events' request_ids; HTTP keys are scoped per API key (`http_scope`).
EVENT_SCOPE = "event"


def http_scope(api_key_id: str | None) -> str:
    """The scope of an `Idempotency-Key` sent with API key `api_key_id` (API Gateway's
    `requestContext.identity.apiKeyId`); without one (a direct invocation of a proxy event),
    `no-api-key`. Never equal to `EVENT_SCOPE`."""
    return f"api-key:{api_key_id}" if api_key_id else "no-api-key"


def reset_idempotency() -> None:
    _runners.reset()


def run_once(
    *,
    owner: str,
    route: str,
    key: str,
    request: Any,
    execute: Callable[[], Outcome],
    context: LambdaContext | None,
    scope: str = EVENT_SCOPE,
) -> tuple[Outcome, bool]:
    """Run `execute` once per (`scope`, `route`, `key`) and `request`; (outcome, executed), where
    `executed` is False when a stored outcome was returned instead. `scope` keeps keys of
    different callers apart (`http_scope` for an `Idempotency-Key`, `EVENT_SCOPE` for events).

    `owner` is the path of the function's own route (`/stories/segments`): the record's id
    begins with it. Raises `ConflictError` (409) for a key reused with another request or still
    running, `IdempotencyUnavailableError` (503, Retry-After) when the table cannot be used
    before `execute` ran (see `_store_failed`), and ConfigurationError when IDEMPOTENCY_TABLE is
    unset."""
    # Cold start: this Powertools utility loads on the path that uses it, not at import.
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    runner = _runners.get(owner)
    if context is not None:
        runner.config.register_lambda_context(context)
    executed = False
    answered: Outcome | None = None

    def tracked() -> Outcome:
        nonlocal executed, answered
        executed = True
        # Parts paid by an earlier attempt of this request are reused (contentgen.stores.partials), within
        # the same scope: one API key never receives parts another paid for.
        with request_parts(owner=owner, route=route, key=f"{scope}\n{key}", request=request):
            answered = execute()
        return answered

    try:
        call = {"scope": scope, "route": route, "key": key, "request": request}
        return runner.run(call=call, execute=tracked), executed
    except _NotStored as not_stored:
        return not_stored.outcome, True
    except IdempotencyValidationError:
        raise ConflictError(f"{key!r} was already used for a different request") from None
    except IdempotencyAlreadyInProgressError:
        raise ConflictError(f"the request {key!r} is still in progress; retry later", retry_after=5) from None
    except _store_errors() as exc:  # evaluated only when something was raised
        if executed and answered is None:
            raise  # the work itself raised, not the table
        return _store_failed(exc, route=route, key=key, answered=answered), True


# Seconds a caller is asked to wait when the idempotency table could not be used.
STORE_RETRY_AFTER_SECONDS = 5


def _store_errors() -> tuple[type[Exception], ...]:
    # Cold start: Powertools' idempotency and botocore load on the path that uses them, not at import.
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyInconsistentStateError,
        IdempotencyPersistenceLayerError,
    )
    from botocore.exceptions import BotoCoreError, ClientError

    return (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError, BotoCoreError, ClientError)


def _store_failed(exc: Exception, *, route: str, key: str, answered: Outcome | None) -> Outcome:
    """What to do when DynamoDB failed under Powertools (it raises IdempotencyPersistenceLayerError
    wrapping botocore's error: throttling, an outage, AccessDenied, no such table).

    Before the work ran (the in-progress record could not be written or read) nothing was called:
    `IdempotencyUnavailableError` (503, Retry-After `STORE_RETRY_AFTER_SECONDS`), so an HTTP caller
    retries with its key and an event's record is delivered again. After the work ran (the
    outcome or the release of the record could not be written) the paid outcome is returned,
    not lost; a repeat with the key meets the in-progress record until it expires (409), then
    runs again. Both are logged at ERROR and counted as `IdempotencyStoreErrors`."""
    # Cold start: this Powertools utility loads on the path that uses it, not at import.
    from aws_lambda_powertools.metrics import MetricUnit

    metrics.add_metric(name="IdempotencyStoreErrors", unit=MetricUnit.Count, value=1)
    reason = f"{type(exc).__name__}: {exc}"
    if answered is not None:
        logger.error(
            "idempotency record not kept; the answer is returned",
            extra={"route": route, "idempotency_key": key, "reason": reason},
        )
        return answered
    logger.error(
        "idempotency store unavailable; nothing run",
        extra={"route": route, "idempotency_key": key, "reason": reason},
    )
    raise IdempotencyUnavailableError(
        "the idempotency store is unavailable; nothing was run, retry later",
        retry_after=STORE_RETRY_AFTER_SECONDS,
    ) from None
