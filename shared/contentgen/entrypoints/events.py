"""Adapters for queue- and bus-fed invocations.

- `sqs_entrypoint`: a worker fed by SQS (the video worker), records through Powertools' batch
  utility with partial batch failures.
- `handle_generation_batch` / `handle_generation_event`: a generation function fed by its own SQS
  queue (messages sent to it, and the events its EventBridge rule puts there, envelope and all)
  or invoked by an EventBridge rule directly. Each message carries `request_id` and the request;
  it runs once
  per `request_id` (idempotency), its result or error is stored under `request_id` and announced
  with GenerationCompleted / GenerationFailed. An invalid request is answered at once, stored,
  and its record reported failed; a provider failure is reported failed for the queue to retry,
  and on the last receive its error is stored and announced before the record goes to the DLQ;
  one after which paid work may have started unseen (`unconfirmed_paid_work`, a video start that
  timed out) is stored and announced at once and its message deleted, never started again.
- A record the invocation has no time left to start (less than the retry policy's margin plus one
  minimum attempt) is handed back untouched: no provider call, nothing stored, no attempt counted
  (`redelivery.not_reached`); the first record of a batch is always started, so a batch progresses.
- A completion event EventBridge keeps failing (`stores.results.EventNotPublishedError`): the
  result stays un-notified and the record is handed back a little later, not counted as an
  attempt (`redelivery.announce_later`), so a delivery (a replay) publishes it even after a
  failure on the last receive.
- Log keys set for a record (`RECORD_LOG_KEYS`) are removed before the next record.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, cast

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter, ValidationError

from contentgen.billing.budgets import for_storage, is_over_budget
from contentgen.config import get_settings
from contentgen.core.deadline import Deadline, current_deadline, deadline_scope
from contentgen.entrypoints import coldstart
from contentgen.entrypoints.answers import error_response, resolve_body
from contentgen.entrypoints.envelope import UnusableEventError, check_record_batch, is_record_batch
from contentgen.entrypoints.redelivery import (
    announce_later,
    attempts_so_far,
    hand_back_for,
    not_reached,
    prior_attempts,
    send_back,
)
from contentgen.entrypoints.request_body import (
    json_type,
    parse_json_leniently,
    parse_json_text,
    value_problem,
)
from contentgen.entrypoints.spend import charged_to
from contentgen.errors import (
    FINAL_SERVER_ERROR_CODES,
    BadRequestError,
    ConflictError,
    ContentgenError,
    InvalidRequestError,
)
from contentgen.models.events import GenerationMessage, RequestId
from contentgen.observability import logger, metrics, traced_handler
from contentgen.stores.idempotency import EVENT_SCOPE, run_once, unconfirmed_paid_work
from contentgen.stores.results import (
    EventNotPublishedError,
    announce,
    claim_request_id,
    publish,
    store_result,
)

Handler = Callable[[Any, LambdaContext], Any]


class GenerationFailed(Exception):
    """The record failed: the queue (or, for a directly invoked event, Lambda's async retries)
    will deliver it again."""


class RequestRejected(GenerationFailed):
    """The request itself is invalid (4xx), or failed in a way no retry fixes until a person acts
    (`FINAL_SERVER_ERROR_CODES`, e.g. the provider account out of credits): stored and announced
    at once; a retry cannot help."""


class NotReached(GenerationFailed):
    """The invocation had no time left to start the record: nothing was run or stored, and the
    record is handed back untouched (`contentgen.entrypoints.redelivery.not_reached`)."""


class OverBudget(Exception):
    """The key was over its daily budget (429 budget_exceeded): stored and announced as failed, and
    the record is done (deleted from the queue, not retried into the dead-letter queue)."""


def is_sqs_event(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, Mapping) else None
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, Mapping) and r.get("eventSource") == "aws:sqs" for r in records)
    )


def is_eventbridge_event(event: Any) -> bool:
    return isinstance(event, Mapping) and {"detail-type", "detail", "source"} <= set(event)


def sqs_entrypoint(record_handler: Callable[[SQSRecord], None]) -> Handler:
    """The function's `lambda_handler` for an SQS event source with ReportBatchItemFailures."""

    @logger.inject_lambda_context(clear_state=True)
    @traced_handler
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        logger.set_correlation_id(getattr(context, "aws_request_id", None))
        if not is_record_batch(event):
            raise UnusableEventError("Records must be a non-empty array of SQS records")
        check_record_batch(event)  # every record has the messageId its failure is reported by
        return _process_batch(event, context, record_handler)

    coldstart.init_done()
    return cast(Handler, handler)


# The log keys one record sets (`_process_batch` removes them after each record).
RECORD_LOG_KEYS = ("message_id", "request_id")


def _time_to_start_a_record() -> bool:
    """Whether the invocation still has time for a whole provider attempt (the retry policy's
    margin plus its minimum attempt)."""
    settings = get_settings()
    remaining = current_deadline().remaining() - settings.deadline_margin_seconds
    return remaining >= settings.min_attempt_seconds


def _process_batch(
    event: dict[str, Any], context: LambdaContext, record_handler: Callable[[SQSRecord], None]
) -> dict[str, Any]:
    # Every record failing is reported like any partial failure (all retried), not raised.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def handle(record: SQSRecord) -> None:
        logger.append_keys(message_id=record.message_id)
        try:
            record_handler(record)
        except GenerationFailed:
            raise  # logged where it was decided
        except Exception:
            # Powertools' BatchProcessor reports the failure to SQS but logs it only at DEBUG.
            logger.exception("record failed unexpectedly; SQS delivers it again")
            raise
        finally:
            # Per-record keys never carry into the next record's lines.
            logger.remove_keys(list(RECORD_LOG_KEYS))

    with deadline_scope(Deadline.from_context(context)):
        result = process_partial_response(
            event=event, record_handler=handle, processor=processor, context=context
        )
    failures = len(result.get("batchItemFailures", []))
    metrics.add_metric(name="RecordsProcessed", unit=MetricUnit.Count, value=len(event.get("Records", [])))
    if failures:
        metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=failures)
    return cast(dict[str, Any], result)


def _generate(
    app: APIGatewayRestResolver,
    route: tuple[str, str],
    message: GenerationMessage,
    context: LambdaContext,
    *,
    last_attempt: bool,
    hand_back: Callable[[dict[str, Any]], bool] | None = None,
) -> None:
    """Run one message's request once, store and announce its outcome, or raise to be retried.

    `hand_back(outcome)` may take an outcome to be run later (an open breaker, a Retry-After):
    when it returns True the message was sent again and this record is done.
    """
    path = route[1]
    logger.append_keys(request_id=message.request_id)
    # The key charged owns the request_id: its claims, results and idempotency records are its own.
    owner = message.api_key_id or get_settings().pipeline_api_key_id
    if _refused_on_another_route(message.request_id, path, owner):
        return
    try:
        outcome, executed = run_once(
            owner=path,
            scope=f"{EVENT_SCOPE}:{owner}",
            route=f"{route[0]} {route[1]}",
            key=message.request_id,
            request=message.body(),
            execute=charged_to(
                message.api_key_id,
                lambda: resolve_body(app, route, message.body(), message.request_id, context),
            ),
            context=context,
        )
    except ConflictError as exc:
        if exc.retry_after is not None:  # the first delivery is still running: try again later
            logger.warning("request not run", extra={"code": exc.code, "reason": exc.message})
            raise GenerationFailed(exc.message) from None
        # The same request_id with another request: a caller's mistake no retry can mend. Refused
        # now (announced, the message deleted), and the first request's result is left as it is.
        _announce_refusal(message.request_id, path, exc)
        return
    except ContentgenError as exc:  # the idempotency store cannot be used: try again later
        logger.warning("request not run", extra={"code": exc.code, "reason": exc.message})
        raise GenerationFailed(exc.message) from None
    status = int(outcome["status_code"])
    body = outcome["body"]
    # Final too: paid work that may have started unseen (a video start that timed out): a retry
    # would only replay it (contentgen.stores.idempotency), so it is stored and announced now.
    final = (
        isinstance(body, dict) and body.get("code") in FINAL_SERVER_ERROR_CODES
    ) or unconfirmed_paid_work(outcome)
    if status >= 500 and hand_back is not None and hand_back(outcome):
        logger.info("request handed back for later", extra={"status": status})
        return
    if status >= 500 and not final and not last_attempt:
        raise GenerationFailed(f"{path} answered {status}; the queue will retry")
    # Stored on every delivery (an identical rewrite for a duplicate), so a delivery after a
    # failed store completes it; the completion event goes out once.
    body = for_storage(status, outcome["body"])  # a budget refusal without the key's id and spend
    announce(
        store_result(request_id=message.request_id, route=path, status_code=status, body=body, owner=owner)
    )
    logger.info("request stored", extra={"status": status, "replayed": not executed})
    if is_over_budget(status, outcome["body"]):
        raise OverBudget(body.get("message", ""))
    if status >= 500 and not final:
        raise GenerationFailed(f"{path} answered {status}; no more receives")
    if status >= 400:
        raise RequestRejected(f"{path} answered {status}: {outcome['body'].get('message', '')}")


def _refused_on_another_route(request_id: str, path: str, owner: str) -> bool:
    """True when `owner`'s `request_id` belongs to another route: announced as failed (409), nothing run."""
    try:
        claim_request_id(request_id=request_id, route=path, owner=owner)
    except ConflictError as exc:
        _announce_refusal(request_id, path, exc)
        return True
    return False


def _announce_refusal(request_id: str, path: str, exc: ContentgenError) -> None:
    """GenerationFailed for a message refused without storing anything under its request_id
    (which holds, or belongs to, another request)."""
    logger.warning("request refused", extra={"code": exc.code, "reason": exc.message})
    metrics.add_metric(name="RequestsRefused", unit=MetricUnit.Count, value=1)
    publish({"request_id": request_id, "route": path, "status": "failed", "error": exc.message})


@dataclass(frozen=True)
class RefusedMessage:
    """A message whose `request_id` is readable but whose request cannot be run as sent."""

    request_id: str
    field: str
    reason: str
    api_key_id: str | None = None  # the key charged (who may read the stored refusal), when valid


_REQUEST_ID: TypeAdapter[str] = TypeAdapter(RequestId)


def read_message(data: Any) -> GenerationMessage | RefusedMessage:
    """The message in an SQS body or EventBridge `detail`.

    A `request_id` that cannot be read (not an object, missing, malformed) raises ValidationError
    or ContentgenError: there is nowhere to store the outcome. A readable `request_id` with a
    `request` that is not a JSON object, or another envelope field that is invalid (an
    `api_key_id` that is not a string of 1-128 characters), is a RefusedMessage naming that field,
    stored as a 422 under that id; so is a value past the bounds of `contentgen.entrypoints.request_body`
    (`value_problem`: NaN, a 101-digit number, nesting deeper than 32 levels)."""
    if not isinstance(data, dict):
        raise InvalidRequestError("message", f"must be a JSON object, not {json_type(data)}")
    bounds = value_problem(data)  # NaN, a 101-digit number, 33 levels: the request is refused
    if bounds is not None:
        request_id = _REQUEST_ID.validate_python(data.get("request_id"))  # unreadable: raises
        return RefusedMessage(request_id, _request_field(bounds[0]), bounds[1], _named_key(data))
    request = data.get("request")
    if request is not None and not isinstance(request, dict):
        request_id = _REQUEST_ID.validate_python(data.get("request_id"))
        return RefusedMessage(
            request_id, "request", f"must be a JSON object, not {json_type(request)}", _named_key(data)
        )
    try:
        return GenerationMessage.model_validate(data)
    except ValidationError as exc:
        request_id = _REQUEST_ID.validate_python(data.get("request_id"))  # unreadable: raises
        problem = exc.errors()[0]
        field = ".".join(str(part) for part in problem["loc"])
        return RefusedMessage(request_id, field, problem["msg"], _named_key(data))


def _named_key(data: dict[str, Any]) -> str | None:
    """The message's `api_key_id` when it is a valid one (a string of 1-128 characters)."""
    key = data.get("api_key_id")
    return key if isinstance(key, str) and 1 <= len(key) <= 128 else None


def _request_field(path: str) -> str:
    """A message's field path as the request's own field (`request.segment_count` →
    `segment_count`), as an HTTP 422 names it."""
    return path.removeprefix("request.")


def read_message_text(text: Any) -> GenerationMessage | RefusedMessage:
    """The message in an SQS body: JSON text holding a message, or a whole EventBridge event
    whose `detail` is the message (the bus rule delivers events into the queue as they are).

    Text the strict reader refuses (`request_body.parse_json_text`: NaN, a number of 101 digits,
    nesting past the bound) is read again leniently to find its `request_id`: when it is
    readable, the message is a RefusedMessage naming the field, stored as a 422 like any invalid
    request. Raises ContentgenError or ValidationError when no `request_id` can be read (the
    message goes to the DLQ)."""
    if not isinstance(text, str):
        raise InvalidRequestError("body", f"must be JSON text, not {json_type(text)}")
    try:
        data = parse_json_text(text)
    except BadRequestError as exc:
        data = parse_json_leniently(text)  # raises when it is not JSON at all
        message = read_message(data["detail"] if is_eventbridge_event(data) else data)
        if isinstance(message, GenerationMessage):  # the bound broken was not found in the value
            return RefusedMessage(message.request_id, "body", exc.message)
        return message
    return read_message(data["detail"] if is_eventbridge_event(data) else data)


def store_refusal(message: RefusedMessage, route: tuple[str, str]) -> None:
    """Store and announce a refused message's 422 under its request_id (GenerationFailed)."""
    logger.append_keys(request_id=message.request_id)
    owner = message.api_key_id or get_settings().pipeline_api_key_id
    if _refused_on_another_route(message.request_id, route[1], owner):
        return
    error = [{"field": message.field, "message": message.reason}]
    text = f"invalid request: {message.field}: {message.reason}"
    body = json.loads(error_response(422, "invalid_request", text, errors=error).body or "{}")
    try:
        stored = store_result(
            request_id=message.request_id,
            route=route[1],
            status_code=422,
            body=body,
            owner=owner,
            keep_existing=True,
        )
    except ConflictError:  # a result is already stored under the id: left as it is
        _announce_refusal(message.request_id, route[1], InvalidRequestError(message.field, message.reason))
        return
    announce(stored)
    logger.warning("request refused", extra={"status": 422, "reason": text})


def _problem_text(exc: ValidationError) -> str:
    """`field: message` of a ValidationError's first problem (a `request_id` that is not one)."""
    problem = exc.errors()[0]
    return f"{'.'.join(str(part) for part in problem['loc']) or 'request_id'}: {problem['msg']}"


def _log_malformed(record: SQSRecord, reason: str) -> None:
    """A message that is not a generation message is logged as it arrives (it ends in the DLQ)."""
    logger.warning("malformed message", extra={"message_id": record.message_id, "reason": reason})


def _hand_back_unreached(record: SQSRecord) -> None:
    """A record the invocation has no time left to start: handed back untouched, nothing run or
    stored, no attempt counted (`redelivery.not_reached`); raises `NotReached` (the record is then
    reported in `batchItemFailures`) when the copy cannot be sent."""
    later = not_reached(record)
    metrics.add_metric(name="RecordsNotReached", unit=MetricUnit.Count, value=1)
    if later is not None:
        try:
            send_back(record, later)
        except Exception:  # SQS refused the copy: the original comes back after its visibility timeout
            logger.warning("record not reached; its copy could not be sent", exc_info=True)
        else:
            logger.info(
                "record not reached before the deadline; handed back", extra={"attempts": later.attempts}
            )
            return
    raise NotReached("no time left in this invocation to start the record")


def _announce_later(record: SQSRecord, exc: EventNotPublishedError, max_receives: int) -> None:
    """Hand back a record whose stored outcome's event was not published, counted as an attempt
    (`redelivery.announce_later`). The record fails instead (`GenerationFailed`: SQS delivers it
    again, and after `maxReceiveCount` receives moves it to the dead-letter queue) when the entry
    error is one no try fixes (`exc.permanent`, e.g. NotAuthorizedForSourceException), when the
    attempts are spent, or when no copy can be sent. The result stays stored and un-notified; the
    `EventsNotPublished` metric (alarmed) and `EventsDeadLettered` when it is the last attempt."""
    later = None if exc.permanent else announce_later(record)
    if later is None or later.attempts >= max_receives:
        attempts = attempts_so_far(record)
        if attempts >= max_receives:
            metrics.add_metric(name="EventsDeadLettered", unit=MetricUnit.Count, value=1)
        logger.error(
            "completion event not published; the record fails (dead-letter queue after its last attempt)",
            extra={"reason": exc.message, "permanent": exc.permanent, "attempts": attempts},
        )
        raise GenerationFailed(exc.message)
    try:
        send_back(record, later)
    except Exception:
        logger.warning("completion event not published; its copy could not be sent", exc_info=True)
        raise GenerationFailed(exc.message) from None
    logger.warning(
        "completion event not published; record handed back",
        extra={"reason": exc.message, "delay_s": later.delay_seconds, "attempts": later.attempts},
    )


def handle_generation_batch(
    app: APIGatewayRestResolver, route: tuple[str, str], event: dict[str, Any], context: LambdaContext
) -> dict[str, Any]:
    max_receives = get_settings().max_receive_count
    started = 0  # records of this batch begun: the first is always begun, so a batch progresses

    def record_handler(record: SQSRecord) -> None:
        nonlocal started
        if started and not _time_to_start_a_record():
            _hand_back_unreached(record)
            return
        started += 1
        try:
            _handle_record(record)
        except EventNotPublishedError as exc:
            # The outcome is stored but its event not published (the result stays un-notified):
            # a copy is sent for a later delivery (a replay, no provider call) to publish it.
            _announce_later(record, exc, max_receives)

    def _handle_record(record: SQSRecord) -> None:
        try:
            if record.raw_event.get("eventSource") != "aws:sqs":
                raise InvalidRequestError("eventSource", "must be aws:sqs")
            message = read_message_text(record.raw_event.get("body"))
        except ContentgenError as exc:
            _log_malformed(record, exc.message)
            raise GenerationFailed(f"not a generation message: {exc.message}") from None
        except ValidationError as exc:
            reason = _problem_text(exc)
            _log_malformed(record, reason)
            raise GenerationFailed(f"not a generation message: {reason}") from None
        if isinstance(message, RefusedMessage):
            store_refusal(message, route)
            return  # an invalid request: stored as failed, and its message deleted (not retried)
        attempts = attempts_so_far(record)
        if prior_attempts(record) and attempts > max_receives:
            # A handed-back copy that already had its last attempt: on to the DLQ, nothing re-run.
            raise GenerationFailed(f"no attempts left after {attempts - 1}")

        def hand_back(outcome: dict[str, Any]) -> bool:
            later = hand_back_for(record, outcome)
            if later is None or later.attempts >= max_receives:
                return False
            send_back(record, later)
            return True

        try:
            with suppress(OverBudget):  # stored as failed; the record is done
                _generate(
                    app, route, message, context, last_attempt=attempts >= max_receives, hand_back=hand_back
                )
        except RequestRejected:
            return  # stored and announced as failed; a retry cannot help, so the message is deleted

    logger.set_correlation_id(getattr(context, "aws_request_id", None))
    return _process_batch(event, context, record_handler)


def handle_generation_event(
    app: APIGatewayRestResolver, route: tuple[str, str], event: dict[str, Any], context: LambdaContext
) -> dict[str, Any]:
    """An EventBridge event: `detail` is the message.

    A provider failure raises, so Lambda retries the event (async invocation) and, when those
    retries run out, sends it to the function's on-failure destination (DirectInvokeDeadLetterQueue).
    An invalid request under a readable `request_id` (a field, a bound) is stored as a 422; a
    `detail` without one raises `UnusableEventError`, to the same retries and destination.
    """
    logger.set_correlation_id(str(event.get("id") or getattr(context, "aws_request_id", "")))
    try:
        message = read_message(event["detail"])
    except (ContentgenError, ValidationError) as exc:
        # Nowhere to store an answer: the event fails, to Lambda's retries and the DLQ.
        reason = exc.message if isinstance(exc, ContentgenError) else _problem_text(exc)
        raise UnusableEventError(f"detail has no readable request_id ({reason})") from None
    metrics.add_metric(name="EventsProcessed", unit=MetricUnit.Count, value=1)
    if isinstance(message, RefusedMessage):
        store_refusal(message, route)
        return {"request_id": message.request_id, "status": "failed"}
    with deadline_scope(Deadline.from_context(context)):
        try:
            _generate(app, route, message, context, last_attempt=False)
        except (RequestRejected, OverBudget):
            return {"request_id": message.request_id, "status": "failed"}
    return {"request_id": message.request_id, "status": "succeeded"}
