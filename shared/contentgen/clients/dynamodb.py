"""The spend ledger's DynamoDB client: DynamoDB's JSON protocol over httpx (`httpx2`, the fork the
provider SDKs import), signed with SigV4
(`contentgen.clients.sigv4`), without botocore.

Why (`make bench`, docs/benchmark.md): every generation's first request reserves and settles its
spend in DynamoDB. Through botocore that first request imported botocore (195 to 265 ms of CPU),
built its session (20 to 26 ms) and a DynamoDB client (66 to 81 ms): more than the whole
allowance of the cold-start goal. httpx2 is already loaded by the provider SDK (`openai`), and
the ledger uses three operations: `Query`, `UpdateItem`, `PutItem` (`set_daily_budget`, an
operator's write). Every other AWS request of the layer stays on botocore
(`contentgen.clients.aws`).

The protocol (DynamoDB Developer Guide, "DynamoDB low-level API",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.LowLevelAPI.html,
read 2026-12-07): `POST /` to the regional endpoint `https://dynamodb.<region>.amazonaws.com`
with `Content-Type: application/x-amz-json-1.0`, `X-Amz-Target: DynamoDB_20120810.<Operation>`,
the operation's parameters as the JSON body (the names and shapes of the DynamoDB API Reference,
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Operations_Amazon_DynamoDB.html,
the same keyword arguments botocore's client takes), signed with SigV4 for service `dynamodb`.
The answer is the operation's JSON; DynamoDB also sends `x-amz-crc32`, the CRC32 of the body,
which botocore checks (and retries on a mismatch): so does this client.

Errors ("Error handling with DynamoDB", Developer Guide,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html, read
2026-12-07): an HTTP 4xx/5xx whose JSON body names the exception in `__type`
(`com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException`) with a `message`. Every one
is raised as ONE type, `DynamoDBError`: `.code` is the name after `#`, and `.response` has
botocore's `ClientError.response` shape (`{"Error": {"Code", "Message"}, "ResponseMetadata":
{...}}` plus the exception's other fields, e.g. `CancellationReasons`, `Item`), so the code that
read botocore's errors reads these the same way.

Retries: botocore's standard retry mode, which the layer's botocore clients use
(`contentgen.clients.aws._config`: 3 attempts), as botocore 1.44 (the runtime's pin) implements
it (`botocore.retries.standard`, `special`, read 2026-12-07: the updated behaviour that became
the SDKs' default in November 2026, AWS Developer Tools Blog, "Announcing updated retry behavior
for AWS SDKs and Tools",
https://aws.amazon.com/blogs/developer/announcing-updated-retry-behavior-for-aws-sdks-and-tools/,
and "Retry behavior", https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html,
both read 2026-12-07). Retried: the throttling errors (DynamoDB's
`ProvisionedThroughputExceededException`, `ThrottlingException`, `RequestLimitExceeded`,
`LimitExceededException`, `TransactionInProgressException`, the SDKs' generic throttling codes,
and a 429 that names no modeled error), the transient ones (`RequestTimeout`,
`RequestTimeoutException`, `PriorRequestNotComplete`, and `ReplicatedWriteConflictException`,
which DynamoDB's model marks retryable), HTTP 500/502/503/504 (DynamoDB's `InternalServerError`,
`ServiceUnavailable`: "OK to retry? Yes" in the guide's table), a connection that failed or an
answer that did not arrive in time (the request is sent again: the ledger's settle is written so
that a second send is not applied twice), and a body whose CRC32 does not match. The wait before
retry `n` is `random() x min(scale x 2 ** (n-1), 20)` seconds, `scale` 1 s after a throttling
error and 25 ms after any other (DynamoDB's), raised to DynamoDB's `x-amz-retry-after` (ms) when
it sends one, by at most 5 s more. Every retry takes 5 (throttling) or 14 from a quota of 500
per client (once per container) that each success gives back (1, or what its last retry took):
a DynamoDB that is down is not hammered. Connect timeout 3 s, read timeout 10 s, as the botocore
clients.

Credentials: the Lambda environment's (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
`AWS_SESSION_TOKEN`); where they are not set (a developer's profile; SnapStart, which gives
functions container credentials, `AWS_CONTAINER_CREDENTIALS_FULL_URI`, instead: Lambda Developer
Guide, "Activating and managing Lambda SnapStart", section "Using SnapStart with AWS SDKs",
https://docs.aws.amazon.com/lambda/latest/dg/snapstart-activate.html#snapstart-credentials, read
2026-12-07), botocore's credential chain, loaded only then (and already in a SnapStart snapshot,
`contentgen.entrypoints.coldstart`). Region: `AWS_REGION`, else
`AWS_DEFAULT_REGION`. Endpoint: `AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL` (moto
locally and in the integration tests), else the regional endpoint. Tests route it through moto's
in-process backends with `use_transport` (an httpx transport).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from contentgen.clients.lazy import LazySingleton
from contentgen.clients.sigv4 import Credentials, sign
from contentgen.clients.tls import ssl_context
from contentgen.observability import aws_span

if TYPE_CHECKING:
    import httpx2

TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"
SERVICE = "dynamodb"
MAX_ATTEMPTS = 3
CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 20.0

# botocore.retries.standard / special (botocore 1.44, read 2026-12-07): what standard mode retries.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
# The errors DynamoDB's service model (botocore 1.44) gives Query, UpdateItem and PutItem: a 429
# naming one of them is retried only as its model says; those it marks `retryable` (none of them
# as throttling).
MODELED_CODES = frozenset(
    {
        "ConditionalCheckFailedException",
        "InternalServerError",
        "ItemCollectionSizeLimitExceededException",
        "ProvisionedThroughputExceededException",
        "ReplicatedWriteConflictException",
        "RequestLimitExceeded",
        "ResourceNotFoundException",
        "ThrottlingException",
        "TransactionConflictException",
    }
)
MODELED_RETRYABLE_CODES = frozenset({"ReplicatedWriteConflictException"})
TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
THROTTLING_STATUS = 429
CRC32_MISMATCH = "CRC32CheckFailed"
# The request failed in transport (botocore's `ConnectionError` / `HTTPClientError`, read timeouts
# included): sent again.
TRANSPORT_CODES = frozenset({"ReadTimeoutError", "HTTPClientError"})
# Backoff scales (botocore's `ExponentialBackoff`): throttling errors, DynamoDB's other errors.
THROTTLING_BASE_SECONDS = 1.0
NON_THROTTLING_BASE_SECONDS = 0.025
RETRY_AFTER_HEADER = "x-amz-retry-after"
RETRY_AFTER_MAX_ADDITIONAL_SECONDS = 5.0

# The retry quota (botocore.retries.quota, standard.RetryQuotaChecker).
QUOTA_CAPACITY = 500
RETRY_COST = 14
THROTTLING_RETRY_COST = 5
NO_RETRY_INCREMENT = 1


class DynamoDBError(Exception):
    """DynamoDB refused a request (after the retries its error allows), or it could not be sent.

    `code`: DynamoDB's exception name (`ConditionalCheckFailedException`, `ValidationException`,
    `ResourceNotFoundException`, `TransactionCanceledException`, ...; the HTTP status as text
    when the answer named none; `CRC32CheckFailed` for an answer that arrived corrupted).
    `response`: botocore's `ClientError.response` shape: `Error` (`Code`, `Message`),
    `ResponseMetadata` (`HTTPStatusCode`, `RequestId`, `RetryAttempts`) and the exception's own
    fields (e.g. `CancellationReasons`, `Item`)."""

    def __init__(self, operation: str, code: str, message: str, response: dict[str, Any]) -> None:
        super().__init__(f"An error occurred ({code}) when calling the {operation} operation: {message}")
        self.operation = operation
        self.code = code
        self.message = message
        self.response = response

    @property
    def status(self) -> int | None:
        """The HTTP status of DynamoDB's answer."""
        status = self.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status if isinstance(status, int) else None

    @property
    def retry_after(self) -> float | None:
        """Seconds DynamoDB asked to wait (`x-amz-retry-after`, in ms), when it did."""
        value = self.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get(RETRY_AFTER_HEADER)
        try:
            seconds = int(value) / 1000 if value is not None else None
        except (TypeError, ValueError):
            return None
        return seconds if seconds is not None and seconds >= 0 else None


def error_of(operation: str, status: int, headers: Mapping[str, str], body: bytes) -> DynamoDBError:
    """The error in a DynamoDB answer with a 4xx/5xx `status`: its `__type` (after `#`), else the
    code in `x-amzn-ErrorType` (`Code:...`), else the status; the message from `message` or
    `Message`."""
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        parsed = {}
    fields: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    named = str(fields.get("__type") or headers.get("x-amzn-errortype", "").split(":")[0])
    code = named.rpartition("#")[2] or str(status)
    message = str(fields.get("message") or fields.get("Message") or "")
    extra = {name: value for name, value in fields.items() if name not in ("__type", "message", "Message")}
    response: dict[str, Any] = {
        **extra,
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {
            "HTTPStatusCode": status,
            "RequestId": headers.get("x-amzn-requestid", ""),
            "HTTPHeaders": {name.lower(): value for name, value in headers.items()},
        },
    }
    return DynamoDBError(operation, code, message, response)


def _modeled(code: str) -> bool:
    """Whether DynamoDB's model names this error for the client's operations."""
    return code in MODELED_CODES


def _throttling(error: DynamoDBError) -> bool:
    """botocore's `ThrottlingErrorDetector`: a throttling code, or a 429 naming no modeled error."""
    return error.code in THROTTLING_CODES or (error.status == THROTTLING_STATUS and not _modeled(error.code))


def _retryable(error: DynamoDBError) -> bool:
    return (
        _throttling(error)
        or error.code in TRANSIENT_CODES
        or error.code in MODELED_RETRYABLE_CODES
        or error.code in TRANSPORT_CODES
        or error.code == CRC32_MISMATCH
        or error.status in TRANSIENT_STATUS
    )


def _backoff(error: DynamoDBError, attempt: int) -> float:
    """Seconds to wait before attempt `attempt + 1` (botocore's `ExponentialBackoff`)."""
    scale = THROTTLING_BASE_SECONDS if _throttling(error) else NON_THROTTLING_BASE_SECONDS
    wait = random.random() * min(scale * 2.0 ** (attempt - 1), MAX_BACKOFF_SECONDS)
    retry_after = error.retry_after
    if retry_after is not None:
        wait = max(wait, min(retry_after, wait + RETRY_AFTER_MAX_ADDITIONAL_SECONDS))
    return wait


class _RetryQuota:
    """botocore's standard-mode retry quota: retries draw from it, successes refill it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.available = QUOTA_CAPACITY

    def acquire(self, cost: int) -> bool:
        with self._lock:
            if cost > self.available:
                return False
            self.available -= cost
            return True

    def release(self, amount: int) -> None:
        with self._lock:
            self.available = min(QUOTA_CAPACITY, self.available + amount)


def endpoint_url(region: str) -> str:
    """`AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL`, else DynamoDB's regional endpoint
    (`amazonaws.com.cn` in the China regions)."""
    configured = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")
    if configured:
        return configured.rstrip("/") + "/"
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://dynamodb.{region}.{suffix}/"


def environment_credentials() -> Callable[[], Credentials]:
    """Where each request's credentials come from: the environment's keys (Lambda sets them for
    the function's role), else botocore's credential chain (loaded only then; refreshed by it)."""
    access_key = os.environ.get("AWS_ACCESS_KEY_ID", "")
    secret_key = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    if access_key and secret_key:
        fixed = Credentials(access_key, secret_key, os.environ.get("AWS_SESSION_TOKEN") or None)
        return lambda: fixed
    # Cold start: botocore loads only where the environment has no keys.
    import botocore.session

    resolved = botocore.session.get_session().get_credentials()
    if resolved is None:
        raise DynamoDBError(
            "credentials",
            "NoCredentialsError",
            "Unable to locate credentials",
            {"Error": {"Code": "NoCredentialsError", "Message": "Unable to locate credentials"}},
        )

    def current() -> Credentials:
        frozen = resolved.get_frozen_credentials()
        return Credentials(frozen.access_key or "", frozen.secret_key or "", frozen.token)

    return current


class DynamoDBClient:
    """The operations the spend ledger uses, with botocore's keyword arguments and answers
    (`query`, `update_item`, `put_item`; attribute values in DynamoDB's JSON form, e.g.
    `{"S": "text"}`, `{"N": "1.5"}`, `{"M": {...}}`; binary values are not supported). Thread-safe
    (one httpx connection pool per container)."""

    def __init__(
        self,
        *,
        region: str,
        endpoint: str,
        credentials: Callable[[], Credentials],
        transport: httpx2.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # Cold start: httpx2 is loaded by the provider SDK already; it is imported where it is used.
        import httpx2

        self.region = region
        self.endpoint = endpoint
        self._credentials = credentials
        self._sleep = sleep
        self._quota = _RetryQuota()
        self._http = httpx2.Client(
            transport=transport,
            verify=ssl_context(),  # the container's, shared with the providers' transport
            timeout=httpx2.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
            trust_env=False,  # no proxy from the environment: the request goes where it is signed for
            # The body uncompressed, as its CRC32 (`x-amz-crc32`) is checked.
            headers={"Accept-Encoding": "identity"},
        )
        self._transport_errors: tuple[type[Exception], ...] = (httpx2.TransportError,)
        self._timeouts: tuple[type[Exception], ...] = (httpx2.TimeoutException,)

    def query(self, **parameters: Any) -> dict[str, Any]:
        """DynamoDB `Query` (API Reference: API_Query)."""
        return self._make_api_call("Query", parameters)

    def update_item(self, **parameters: Any) -> dict[str, Any]:
        """DynamoDB `UpdateItem` (API Reference: API_UpdateItem)."""
        return self._make_api_call("UpdateItem", parameters)

    def put_item(self, **parameters: Any) -> dict[str, Any]:
        """DynamoDB `PutItem` (API Reference: API_PutItem)."""
        return self._make_api_call("PutItem", parameters)

    def close(self) -> None:
        self._http.close()

    def _make_api_call(self, operation: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
        """Send `operation` with `parameters` (None values left out, as botocore does), retrying
        as standard mode does; its JSON answer with `ResponseMetadata`, or `DynamoDBError`."""
        body = json.dumps({name: value for name, value in parameters.items() if value is not None}).encode()
        headers = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET_PREFIX + operation}
        with aws_span(
            "DynamoDB", operation, {"region": self.region, "table_name": parameters.get("TableName")}
        ):
            return self._retried(operation, headers, body)

    def _retried(self, operation: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        attempt = 1
        retry_cost = 0
        while True:
            try:
                answer = self._send(operation, headers, body, attempt)
            except DynamoDBError as error:
                cost = THROTTLING_RETRY_COST if _throttling(error) else RETRY_COST
                if not _retryable(error) or attempt >= MAX_ATTEMPTS or not self._quota.acquire(cost):
                    raise
                retry_cost = cost
                self._sleep(_backoff(error, attempt))
                attempt += 1
                continue
            self._quota.release(retry_cost or NO_RETRY_INCREMENT)
            return answer

    def _send(self, operation: str, headers: dict[str, str], body: bytes, attempt: int) -> dict[str, Any]:
        """One attempt: signed now, sent, the answer checked (CRC32) and parsed."""
        signed = sign("POST", self.endpoint, headers, body, self._credentials(), self.region, SERVICE)
        try:
            response = self._http.post(self.endpoint, content=body, headers=signed)
        except self._transport_errors as exc:
            # Sent again by the retry loop: a timeout may have lost the answer to an applied write.
            code = "ReadTimeoutError" if isinstance(exc, self._timeouts) else "HTTPClientError"
            raise DynamoDBError(
                operation,
                code,
                f"{type(exc).__name__}: {exc}",
                {
                    "Error": {"Code": code, "Message": str(exc)},
                    "ResponseMetadata": {"RetryAttempts": attempt - 1},
                },
            ) from exc
        content = response.content
        status = response.status_code
        expected = response.headers.get("x-amz-crc32")
        if expected is not None and expected.isdigit() and zlib.crc32(content) != int(expected):
            raise DynamoDBError(
                operation,
                CRC32_MISMATCH,
                f"the answer's CRC32 is not {expected}",
                {
                    "Error": {"Code": CRC32_MISMATCH, "Message": "CRC32 mismatch"},
                    "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": attempt - 1},
                },
            )
        if status >= 300:
            error = error_of(operation, status, response.headers, content)
            error.response["ResponseMetadata"]["RetryAttempts"] = attempt - 1
            raise error
        try:
            answer: dict[str, Any] = json.loads(content) if content else {}
        except ValueError as exc:
            code = "ResponseParserError"
            raise DynamoDBError(
                operation,
                code,
                f"the answer is not JSON: {exc}",
                {
                    "Error": {"Code": code, "Message": str(exc)},
                    "ResponseMetadata": {"HTTPStatusCode": status},
                },
            ) from exc
        answer["ResponseMetadata"] = {
            "HTTPStatusCode": status,
            "RequestId": response.headers.get("x-amzn-requestid", ""),
            "RetryAttempts": attempt - 1,
        }
        return answer


_transport: httpx2.BaseTransport | None = None


def _build() -> DynamoDBClient:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        message = "You must specify a region (AWS_REGION)"
        raise DynamoDBError(
            "configuration",
            "NoRegionError",
            message,
            {"Error": {"Code": "NoRegionError", "Message": message}},
        )
    return DynamoDBClient(
        region=region,
        endpoint=endpoint_url(region),
        credentials=environment_credentials(),
        transport=_transport,
    )


_client: LazySingleton[DynamoDBClient] = LazySingleton(_build)


def get_ledger_client() -> DynamoDBClient:
    """The container's client (built at first use: region, endpoint and credentials read then)."""
    return _client.get()


def use_transport(transport: httpx2.BaseTransport | None) -> None:
    """Send the client's requests through `transport` (tests: moto's in-process backends;
    None: the network) from its next build on; the current client is dropped."""
    global _transport
    _transport = transport
    reset_ledger_client()


def reset_ledger_client() -> None:
    """Drop the client (endpoint, credentials, connections); the next request builds it again."""
    client = _client._instance
    _client.reset()
    if client is not None:
        client.close()
