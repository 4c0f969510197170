"""Paid parts of a request, kept for its next attempt: a fan-out's sets, a long story's chunks.

A request that fans out (alternative sets, a story written chunk by chunk) pays the provider once
per part. When a later part fails (a rate limit, an open breaker, a 5xx) the request answers
502/503/504 with the paid parts as `partial`, and is run again: a queue message is handed back or
retried, an HTTP caller retries with the same `Idempotency-Key`. The parts already paid are not
asked again on that next attempt.

Scope: only a request run under an idempotency key (`request_id` of an event, `Idempotency-Key`
of an HTTP call; `contentgen.stores.idempotency.run_once` opens the scope) has a next attempt that can
be recognised. Its parts live in one item of the idempotency table, the function's own records
(the role's `IdempotencyRecordsPolicy`, `dynamodb:LeadingKeys` = `<route>#*`, see
`contentgen.stores.record_keys`):

- `id`: `<route>#parts#<sha256 of the request's route, key and canonical request>`, so the same
  key with another request (refused 409 by the idempotency store anyway) never sees these parts;
- `p_<part>`: one binary attribute per paid part, zlib-compressed JSON `{"model", "value"}` (the
  model that answered and its validated reply);
- `expiration`: epoch seconds, the table's TTL attribute, `IDEMPOTENCY_TTL_SECONDS` after the
  latest part was paid. The idempotency record of a finished attempt is written later with the
  same TTL, so parts never outlive the record that answers the key's repeats. Expired items that
  DynamoDB has not deleted yet are ignored.

Cost: one `GetItem` (strongly consistent) per attempt, on the first part the attempt looks up,
and one `UpdateItem` per part paid. Nothing for requests without parts or without a key.
A store that cannot be read or written never fails the request: the part is asked (or not kept)
and a warning is logged; the worst case is paying a part twice, as without this store.

Sources: DynamoDB `UpdateItem`, `GetItem` `ConsistentRead`, item size limit 400 KB, TTL
(Amazon DynamoDB Developer Guide, "Working with items" and "Time to Live",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from pydantic import BaseModel

from contentgen.clients.aws import get_dynamodb_client
from contentgen.config import get_settings
from contentgen.models.schema import Structured
from contentgen.observability import logger
from contentgen.stores.record_keys import owner_prefix

M = TypeVar("M", bound=BaseModel)

PART_ATTRIBUTE_PREFIX = "p_"
EXPIRATION_ATTRIBUTE = "expiration"  # IdempotencyTable's TimeToLiveSpecification


def parts_item_id(*, owner: str, route: str, key: str, request: Any) -> str:
    """The item id of one request's parts: `<owner route>#parts#<sha256 hex>`.

    `owner` is the path of the function's own route (`/stories/segments/sets`), `route` the
    request's `"<METHOD> <path>"`, `key` its idempotency key, `request` its parsed body (hashed in
    canonical JSON: sorted keys, no whitespace, non-ASCII escaped, so a lone surrogate hashes too)."""
    canonical = json.dumps(
        {"route": route, "key": key, "request": request},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return f"{owner_prefix(owner)}#parts#{hashlib.sha256(canonical.encode()).hexdigest()}"


def _encode(reply: Structured[Any]) -> bytes:
    document = {"model": reply.model, "value": reply.value.model_dump(mode="json")}
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode())


def _decode(data: bytes, reply_type: type[M]) -> Structured[M]:
    document = json.loads(zlib.decompress(data))
    return Structured(value=reply_type.model_validate(document["value"]), model=str(document["model"]))


class PaidParts:
    """The paid parts of one request (thread-safe: sets are kept from fan-out threads).

    Without an `item_id` (no idempotency key, no table) nothing is read or kept."""

    def __init__(self, item_id: str | None = None, table: str | None = None, ttl_seconds: int = 0) -> None:
        self.item_id = item_id
        self._table = table
        self._ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._stored: dict[str, bytes] | None = None
        self.reused: list[str] = []

    @property
    def enabled(self) -> bool:
        return self.item_id is not None and self._table is not None

    def _load(self) -> dict[str, bytes]:
        """The parts stored by earlier attempts, read once per attempt (under the lock)."""
        if self._stored is not None:
            return self._stored
        self._stored = {}
        if not self.enabled:
            return self._stored
        # Cold start: botocore loads on the path that uses it, not at import.
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            found = get_dynamodb_client().get_item(
                TableName=str(self._table), Key={"id": {"S": str(self.item_id)}}, ConsistentRead=True
            )
        except (BotoCoreError, ClientError) as exc:
            _warn("paid parts not read; parts are asked again", self.item_id, exc)
            return self._stored
        item = found.get("Item") or {}
        expiration = item.get(EXPIRATION_ATTRIBUTE, {}).get("N")
        if expiration is not None and float(expiration) <= time.time():
            return self._stored  # expired, not yet deleted by DynamoDB's TTL
        for name, value in item.items():
            if name.startswith(PART_ATTRIBUTE_PREFIX) and "B" in value:
                self._stored[name.removeprefix(PART_ATTRIBUTE_PREFIX)] = bytes(value["B"])
        return self._stored

    def reuse(self, name: str, reply_type: type[M]) -> Structured[M] | None:
        """The part `name` paid by an earlier attempt of this request, or None."""
        with self._lock:
            data = self._load().get(name)
        if data is None:
            return None
        try:
            reply = _decode(data, reply_type)
        except (ValueError, zlib.error, KeyError, TypeError) as exc:
            _warn(f"paid part {name} unreadable; asked again", self.item_id, exc)
            return None
        with self._lock:
            self.reused.append(name)
        return reply

    def keep(self, name: str, reply: Structured[Any]) -> None:
        """Store the paid part `name` for a next attempt (one UpdateItem); never raises."""
        if not self.enabled:
            return
        # Cold start: botocore loads on the path that uses it, not at import.
        from botocore.exceptions import BotoCoreError, ClientError

        data = _encode(reply)
        try:
            get_dynamodb_client().update_item(
                TableName=str(self._table),
                Key={"id": {"S": str(self.item_id)}},
                UpdateExpression="SET #part = :part, #expiration = :expiration",
                ExpressionAttributeNames={
                    "#part": f"{PART_ATTRIBUTE_PREFIX}{name}",
                    "#expiration": EXPIRATION_ATTRIBUTE,
                },
                ExpressionAttributeValues={
                    ":part": {"B": data},
                    ":expiration": {"N": str(int(time.time()) + self._ttl_seconds)},
                },
            )
        except (BotoCoreError, ClientError) as exc:  # e.g. the 400 KB item limit, throttling
            _warn(f"paid part {name} not kept", self.item_id, exc)
            return
        with self._lock:
            if self._stored is not None:
                self._stored[name] = data


def _warn(message: str, item_id: str | None, exc: Exception) -> None:

    logger.warning(message, extra={"parts_item": item_id, "reason": f"{type(exc).__name__}: {exc}"})


_current: ContextVar[PaidParts | None] = ContextVar("contentgen_paid_parts", default=None)


@contextmanager
def request_parts(*, owner: str, route: str, key: str, request: Any) -> Iterator[PaidParts]:
    """Open the parts of the request (`owner`, `route`, `key`, `request`) for the code run inside.

    Nothing is read here: the item is read on the first `reuse`. Without `IDEMPOTENCY_TABLE`
    nothing is kept. Fan-out threads see the scope (they run in copies of the caller's context)."""

    settings = get_settings()
    parts = PaidParts(
        parts_item_id(owner=owner, route=route, key=key, request=request),
        settings.idempotency_table,
        settings.idempotency_ttl_seconds,
    )
    token = _current.set(parts)
    try:
        yield parts
    finally:
        _current.reset(token)


def current_parts() -> PaidParts:
    """The parts of the request being run, or a `PaidParts` that keeps nothing outside a scope."""
    return _current.get() or PaidParts()


def paid_once(
    name: str, reply_type: type[M], ask: Callable[[], Structured[M]], *, reuse: bool = True
) -> tuple[Structured[M], bool]:
    """The part `name`: reused from an earlier attempt of this request when `reuse` and it was
    kept, else asked (`ask()`, which may raise) and kept. Returns (reply, reused)."""
    parts = current_parts()
    if reuse:
        kept = parts.reuse(name, reply_type)
        if kept is not None:
            return kept, True
    reply = ask()
    parts.keep(name, reply)
    return reply, False
