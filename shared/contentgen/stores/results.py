"""Results of event-triggered generations, kept under the caller's request_id, and the events
that tell the caller (GenerationCompleted / GenerationFailed on the contentgen bus).

A result larger than fits in a DynamoDB item goes to S3, with a pointer in the item.

Items (partition key `pk`, `contentgen.stores.record_keys`): a result is kept under
`<route>#<api key>#<request_id>` (`stories/segments#k1#req-1`; the key charged, `owned`: each
API key's request_ids are its own), which only the function serving that route may write; the
claim that binds a request_id to its route under `_claim#<api key>#<request_id>`. Results that go
to S3 lie under `results/<route>#`, again only the owner's to write. `get_result` reads the
request_id's item under every route at once (the claims, which every event-fed role may write,
are not trusted for reading).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from contentgen.clients.aws import get_dynamodb_client, get_events_client, get_s3_client
from contentgen.config import get_settings
from contentgen.errors import ConfigurationError, ConflictError, ContentgenError
from contentgen.observability import logger, metrics
from contentgen.stores.record_keys import RESULT_ROUTES, claim_key, record_key, result_object_key

# DynamoDB items are at most 400 KB; keep room for the other attributes.
MAX_INLINE_BYTES = 350_000
EVENT_SOURCE = "contentgen"


def _required(value: str | None, variable: str) -> str:
    if value is None:
        raise ConfigurationError(f"service misconfigured: environment variable {variable} is not set")
    return value


class EventNotPublishedError(ContentgenError):
    """EventBridge answered `PutEvents` with the entry failed (`FailedEntryCount` > 0, the entry's
    `ErrorCode` / `ErrorMessage`) on every try: the completion event was not published. The result
    stays un-notified, so the next delivery of its message publishes it."""

    status_code = 503
    code = "event_not_published"

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.permanent = permanent


class ResultsUnavailableError(ContentgenError):
    """The results table kept part of a read unprocessed (throttling): 503 with `Retry-After`."""

    status_code = 503
    code = "results_unavailable"


@dataclass(frozen=True)
class StoredResult:
    summary: dict[str, Any]  # what the completion event carries
    notified: bool  # whether that event was already published (by an earlier delivery)
    owner: str = ""  # the API key charged, under whose ids the result is kept


def owned(owner: str, request_id: str) -> str:
    """`request_id` in the key space of the API key `owner` (`<owner>#<request_id>`: a request_id
    holds no `#`, so no two owners' ids meet): each key's request_ids are its own, for claims,
    results and their S3 objects."""
    return f"{owner}#{request_id}"


def store_result(
    *, request_id: str, route: str, status_code: int, body: Any, owner: str, keep_existing: bool = False
) -> StoredResult:
    """Store (or store again, identically) the outcome of `route` (its path) under `request_id`,
    readable only with the API key `owner` (the key charged: the message's `api_key_id`, else the
    pipeline key); the first owner stays (`get_result` answers no other key).

    Writing is idempotent, so a redelivered message completes a store that failed before;
    `notified` survives rewrites, so the completion event is published once. With
    `keep_existing`, an outcome already stored is left as it is (a refusal never overwrites a
    result): `ConflictError` is raised instead. Raises botocore's ClientError on other errors.
    """
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.exceptions import ClientError

    settings = get_settings()
    now = int(time.time())
    succeeded = status_code < 400
    payload = json.dumps(body)
    values: dict[str, Any] = {
        ":route": {"S": route},
        ":status": {"S": "succeeded" if succeeded else "failed"},
        ":code": {"N": str(status_code)},
        ":now": {"N": str(now)},
        ":expires": {"N": str(now + settings.result_retention_days * 86400)},
        ":false": {"BOOL": False},
        ":body": {"S": payload},
        ":request_id": {"S": request_id},
        ":owner": {"S": owner},
    }
    body_attribute = "body"
    if len(payload.encode()) > MAX_INLINE_BYTES:
        key = result_object_key(route, owned(owner, request_id))
        bucket = _required(settings.results_bucket, "RESULTS_BUCKET")
        get_s3_client().put_object(
            Bucket=bucket, Key=key, Body=payload.encode(), ContentType="application/json"
        )
        body_attribute, values[":body"] = "body_s3_key", {"S": key}
    condition: dict[str, Any] = (
        {"ConditionExpression": "attribute_not_exists(#status)"} if keep_existing else {}
    )
    try:
        stored = get_dynamodb_client().update_item(
            TableName=_required(settings.results_table, "RESULTS_TABLE"),
            Key={"pk": {"S": record_key(route, owned(owner, request_id))}},
            UpdateExpression=(
                "SET request_id = :request_id, #route = :route, #status = :status, status_code = :code, "
                "api_key_id = if_not_exists(api_key_id, :owner), "
                "created_at = if_not_exists(created_at, :now), expires_at = :expires, "
                f"notified = if_not_exists(notified, :false), {body_attribute} = :body"
            ),
            ExpressionAttributeNames={"#route": "route", "#status": "status"},
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
            **condition,
        )
    except ClientError as exc:
        if (
            not keep_existing
            or exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException"
        ):
            raise
        raise ConflictError(
            f"request_id {request_id!r} already has a result; send a new request_id"
        ) from None
    summary: dict[str, Any] = {"request_id": request_id, "route": route, "status": values[":status"]["S"]}
    if not succeeded:
        summary["error"] = body.get("message") if isinstance(body, dict) else str(body)
    return StoredResult(summary, bool(stored["Attributes"].get("notified", {}).get("BOOL")), owner)


def claim_request_id(*, request_id: str, route: str, owner: str) -> None:
    """Bind `request_id` of the API key `owner` (`owned`) to `route` before anything is generated for it.

    The first route to claim an id keeps it: a claim (or a stored result) for another route makes
    this raise `ConflictError`, so the same request_id sent to two routes is refused instead of
    generated (and paid) twice. The claim (`_claim#<request_id>`) is also how `get_result` finds
    the route that owns the result; it expires like a result. Raises botocore's ClientError on
    other DynamoDB errors.
    """
    # Cold start: botocore loads on the path that uses it, not at import.
    from botocore.exceptions import ClientError

    settings = get_settings()
    now = int(time.time())
    try:
        get_dynamodb_client().update_item(
            TableName=_required(settings.results_table, "RESULTS_TABLE"),
            Key={"pk": {"S": claim_key(owned(owner, request_id))}},
            # Refreshed at every delivery, a day past the result stored after it: the claim never
            # expires before its result, so an id cannot be reused while a result is readable.
            UpdateExpression="SET #route = if_not_exists(#route, :route), expires_at = :expires",
            ConditionExpression="attribute_not_exists(pk) OR #route = :route",
            ExpressionAttributeNames={"#route": "route"},
            ExpressionAttributeValues={
                ":route": {"S": route},
                ":expires": {"N": str(now + (settings.result_retention_days + 1) * 86400)},
            },
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        raise ConflictError(
            f"request_id {request_id!r} was already used on another route; send a new request_id"
        ) from None


def mark_notified(request_id: str, route: str, owner: str) -> None:
    """Remember that the completion event of `route`'s result for `owner`'s `request_id` was published."""
    get_dynamodb_client().update_item(
        TableName=_required(get_settings().results_table, "RESULTS_TABLE"),
        Key={"pk": {"S": record_key(route, owned(owner, request_id))}},
        UpdateExpression="SET notified = :true",
        ExpressionAttributeValues={":true": {"BOOL": True}},
    )


def get_result(request_id: str, api_key_id: str) -> dict[str, Any] | None:
    """The stored outcome of `request_id` (`request_id`, `route`, `status`, `status_code`,
    `created_at` in epoch seconds, and `result` or `error`), or None when the id is unknown, its
    request has not finished, or it was charged to another API key than `api_key_id` (exactly as
    unknown: request ids are often guessable; a result stored before owners were kept has none and
    is read by no key).

    One `BatchGetItem` reads the id's item under each of `RESULT_ROUTES` (items only their own
    route's function may write). Raises ConflictError (409) when more than one route holds a
    finished result for the id, which claims prevent: the answer is not guessed."""
    settings = get_settings()
    table = _required(settings.results_table, "RESULTS_TABLE")
    dynamodb = get_dynamodb_client()
    wanted: dict[str, Any] = {
        table: {
            "Keys": [
                {"pk": {"S": record_key(route, owned(api_key_id, request_id))}} for route in RESULT_ROUTES
            ]
        }
    }
    items: list[dict[str, Any]] = []
    for _ in range(5):  # UnprocessedKeys: the rest of a throttled batch, asked again
        answer = dynamodb.batch_get_item(RequestItems=wanted)
        items.extend(answer.get("Responses", {}).get(table, []))
        wanted = answer.get("UnprocessedKeys") or {}
        if not wanted:
            break
    else:
        raise ResultsUnavailableError(
            "the results table did not answer the whole read; retry later", retry_after=1
        )
    now = int(time.time())
    # Expired items may outlive their TTL by up to about two days (DynamoDB deletes them later).
    finished = [
        item
        for item in items
        if "status" in item
        and int(item.get("expires_at", {}).get("N", now + 1)) > now
        and item.get("api_key_id", {}).get("S") == api_key_id
    ]
    if not finished:  # unknown, expired, or claimed and not finished yet
        return None
    if len(finished) > 1:
        routes = sorted(item["route"]["S"] for item in finished)
        raise ConflictError(
            f"request_id {request_id!r} holds results on several routes ({', '.join(routes)})"
        )
    (found,) = finished
    if "body" in found:
        body = json.loads(found["body"]["S"])
    else:
        # Cold start: botocore loads on the path that uses it, not at import.
        from botocore.exceptions import ClientError

        bucket = _required(settings.results_bucket, "RESULTS_BUCKET")
        try:
            obj = get_s3_client().get_object(Bucket=bucket, Key=found["body_s3_key"]["S"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None  # the bucket's lifecycle removed it: expired like the item
            raise
        body = json.loads(obj["Body"].read())
    return {
        "request_id": request_id,
        "route": found["route"]["S"],
        "status": found["status"]["S"],
        "status_code": int(found["status_code"]["N"]),
        "created_at": int(found["created_at"]["N"]),
        "result" if found["status"]["S"] == "succeeded" else "error": body,
    }


def announce(stored: StoredResult) -> None:
    """Publish the completion event unless an earlier delivery already did, then remember it.
    Raises `EventNotPublishedError` (the result left un-notified) when EventBridge kept failing
    the entry."""
    if stored.notified:
        return
    publish(stored.summary)
    mark_notified(stored.summary["request_id"], stored.summary["route"], stored.owner)


# PutEvents tries per event, and the pause before a try again (full jitter, doubling).
PUT_EVENTS_ATTEMPTS = 3
PUT_EVENTS_BASE_DELAY = 0.05
# The entry `ErrorCode`s a try again can fix. "Retryable errors include: InternalFailure,
# ThrottlingException"; every other code is "non-retryable" (AccessDeniedException,
# InvalidAccountIdException, InvalidArgument, MalformedDetail, RedactionFailure,
# NotAuthorizedForSourceException, NotAuthorizedForDetailTypeException): EventBridge API
# Reference, PutEventsResultEntry, ErrorCode
# (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html,
# read 2026-12-07). A code the reference does not list is taken as transient: the attempt budget
# still bounds it.
TRANSIENT_ENTRY_ERRORS = frozenset({"InternalFailure", "ThrottlingException"})
PERMANENT_ENTRY_ERRORS = frozenset(
    {
        "AccessDeniedException",
        "InvalidAccountIdException",
        "InvalidArgument",
        "MalformedDetail",
        "RedactionFailure",
        "NotAuthorizedForSourceException",
        "NotAuthorizedForDetailTypeException",
    }
)


def publish(summary: dict[str, Any], *, sleep: Callable[[float], None] = time.sleep) -> None:
    """GenerationCompleted or GenerationFailed on the contentgen bus.

    `PutEvents` can answer HTTP 200 and still fail an entry: "the response contains
    FailedEntryCount ... and Entries with ErrorCode and ErrorMessage for each failed entry"; the
    caller must send failed entries again (EventBridge API Reference, PutEvents, "Response
    Elements"; "Handling failures when using PutEvents", read 2026-12-06). A failed entry is sent
    again up to `PUT_EVENTS_ATTEMPTS` tries, unless its `ErrorCode` is one no try fixes
    (`PERMANENT_ENTRY_ERRORS`); still failing, the `EventsNotPublished` metric is counted
    (alarmed in template.yaml) and `EventNotPublishedError` raised, `permanent` when the code is."""
    bus = _required(get_settings().event_bus_name, "EVENT_BUS_NAME")
    detail_type = "GenerationCompleted" if summary["status"] == "succeeded" else "GenerationFailed"
    entries: list[Any] = [
        {
            "Source": EVENT_SOURCE,
            "DetailType": detail_type,
            "Detail": json.dumps(summary),
            "EventBusName": bus,
        }
    ]
    failures: list[Any] = []
    for attempt in range(PUT_EVENTS_ATTEMPTS):
        if attempt:
            sleep(random.uniform(0, PUT_EVENTS_BASE_DELAY * 2**attempt))
        answer = get_events_client().put_events(Entries=entries)
        if not answer.get("FailedEntryCount"):
            return
        results = answer.get("Entries") or []
        # Each result sits at its entry's index; the failed ones carry an ErrorCode.
        failures = [result for result in results if isinstance(result, dict) and result.get("ErrorCode")]
        entries = [
            entry for entry, result in zip(entries, results, strict=False) if result.get("ErrorCode")
        ] or entries
        if any(failure.get("ErrorCode") in PERMANENT_ENTRY_ERRORS for failure in failures):
            break
    permanent = any(failure.get("ErrorCode") in PERMANENT_ENTRY_ERRORS for failure in failures)
    first = failures[0] if failures else {}
    reason = f"{first.get('ErrorCode', 'unknown')}: {first.get('ErrorMessage', '')}".strip()
    metrics.add_metric(name="EventsNotPublished", unit=MetricUnit.Count, value=1)
    logger.error(
        "completion event not published",
        extra={
            "request_id": summary.get("request_id"),
            "detail_type": detail_type,
            "reason": reason,
            "permanent": permanent,
        },
    )
    raise EventNotPublishedError(
        f"the {detail_type} event for request_id {summary.get('request_id')!r} was not published "
        f"({'an error no try fixes' if permanent else f'after {PUT_EVENTS_ATTEMPTS} tries'}: {reason})",
        permanent=permanent,
        retry_after=1,
    )
