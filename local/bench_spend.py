"""`make bench`, AWS overhead section: what AWS costs per 1,000 text generations beside the model.

story_segments is invoked warm, in this process, against moto and the provider emulator, as API
Gateway would (with an API key id, so the spend ledger is read and charged) and as a queue would
(SQS batches of 5: idempotency, results, completion events, spend). Every AWS request the layer
makes is counted by operation through botocore's event hooks; item sizes come from the requests.
Lambda's GB-seconds come from the measured durations and the function's MemorySize in
template.yaml. The model spend of the same generations is the `usage.cost_usd` the emulator
reported (the default text model's list price from the model catalog, per million prompt and
completion tokens, applied to the emulator's token counts).

Prices: us-east-1 list prices, read 2026-11-30, each with its source page.
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from local.bench_goals import Goal, report

ROOT = Path(__file__).resolve().parent.parent

# https://aws.amazon.com/lambda/pricing/ (arm64, first 7.5 billion GB-s a month)
LAMBDA_ARM64_USD_PER_GB_SECOND = 0.0000133334
LAMBDA_USD_PER_REQUEST = 0.20 / 1_000_000
# https://aws.amazon.com/api-gateway/pricing/ (REST APIs, first 333 million requests a month)
API_GATEWAY_REST_USD_PER_REQUEST = 3.50 / 1_000_000
# https://aws.amazon.com/dynamodb/pricing/on-demand/ (since the November 2024 price cut)
DYNAMODB_USD_PER_WRITE_UNIT = 0.625 / 1_000_000  # one write of up to 1 KB
DYNAMODB_USD_PER_READ_UNIT = 0.125 / 1_000_000  # one strongly consistent read of up to 4 KB
# https://aws.amazon.com/sqs/pricing/ (standard queues, each 64 KB chunk of a request)
SQS_USD_PER_REQUEST = 0.40 / 1_000_000
# https://aws.amazon.com/eventbridge/pricing/ (custom events, each 64 KB chunk)
EVENTBRIDGE_USD_PER_EVENT = 1.00 / 1_000_000
# https://aws.amazon.com/cloudwatch/pricing/ (Logs ingestion, standard class)
CLOUDWATCH_LOGS_USD_PER_GB = 0.50

GOAL_SHARE = 0.02
SQS_BATCH_SIZE = 5  # template.yaml: each request queue's event source mapping

_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
_READS = {"GetItem", "Query"}


@dataclass
class Counted:
    """AWS requests the layer made; DynamoDB writes are sized afterwards (`size_writes`)."""

    calls: Counter[str] = field(default_factory=Counter)
    writes: list[tuple[str, dict[str, Any], int]] = field(default_factory=list)
    write_units: int = 0
    read_units: int = 0
    events: int = 0
    # Of these, the paid-parts items (contentgen.stores.partials: ids `<route>#parts#...`).
    parts_reads: int = 0
    parts_writes: int = 0
    parts_write_units: int = 0

    def hook(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        """botocore's `provide-client-params` event of the layer's botocore clients."""
        self.record(model.name, params)

    def record(self, operation: str, params: Mapping[str, Any]) -> None:
        """One request (botocore's clients, the spend ledger's own DynamoDB client)."""
        self.calls[operation] += 1
        if operation in _WRITES:
            size = len(json.dumps(params, default=_sized).encode())
            self.writes.append((params["TableName"], params.get("Key") or {}, size))
        elif operation in _READS:
            self.read_units += 1  # every item read here is under 4 KB
            self.parts_reads += _is_parts_item(params.get("Key") or {})
        elif operation == "PutEvents":
            self.events += len(params.get("Entries", []))

    def size_writes(self, dynamodb: Any) -> None:
        """Write units: DynamoDB charges a write by the larger of the item before and after it, in
        1 KB units; the item's final size (items here only grow) or the request's, if larger."""
        for table, key, request_size in self.writes:
            item = dynamodb.get_item(TableName=table, Key=key).get("Item", {}) if key else {}
            size = max(request_size, len(json.dumps(item, default=_sized).encode()))
            units = max(1, math.ceil(size / 1024))
            self.write_units += units
            if _is_parts_item(key):
                self.parts_writes += 1
                self.parts_write_units += units


def _sized(value: Any) -> str:
    """A JSON stand-in as long as DynamoDB counts the value: a binary (B) value by its bytes."""
    return "x" * len(value) if isinstance(value, bytes | bytearray) else str(value)


def _is_parts_item(key: dict[str, Any]) -> bool:
    return "#parts#" in str((key.get("id") or {}).get("S", ""))


@dataclass(frozen=True)
class Overhead:
    """USD per generation of each AWS part, and the model's."""

    lambda_compute: float
    lambda_requests: float
    api_gateway: float
    dynamodb: float
    sqs: float
    eventbridge: float
    logs: float
    model: float

    @property
    def aws(self) -> float:
        return (
            self.lambda_compute
            + self.lambda_requests
            + self.api_gateway
            + self.dynamodb
            + self.sqs
            + self.eventbridge
            + self.logs
        )


def overhead(
    *,
    durations_ms: list[float],
    memory_mb: int,
    counted: Counted,
    log_bytes: int,
    model_usd: float,
    over_http: bool,
    sqs_requests_per_message: float = 0.0,
) -> Overhead:
    """Per generation, from what `len(durations_ms)` generations measured."""
    n = len(durations_ms)
    billed_seconds = sum(math.ceil(ms) for ms in durations_ms) / 1000  # Lambda bills whole ms
    return Overhead(
        lambda_compute=billed_seconds * memory_mb / 1024 * LAMBDA_ARM64_USD_PER_GB_SECOND / n,
        lambda_requests=LAMBDA_USD_PER_REQUEST,
        api_gateway=API_GATEWAY_REST_USD_PER_REQUEST if over_http else 0.0,
        dynamodb=(
            counted.write_units * DYNAMODB_USD_PER_WRITE_UNIT
            + counted.read_units * DYNAMODB_USD_PER_READ_UNIT
        )
        / n,
        sqs=sqs_requests_per_message * SQS_USD_PER_REQUEST,
        eventbridge=counted.events * EVENTBRIDGE_USD_PER_EVENT / n,
        logs=log_bytes / 1024**3 * CLOUDWATCH_LOGS_USD_PER_GB / n,
        model=model_usd / n,
    )


class _CountingSink:
    """Where the functions' log lines go while measured: counted, not kept."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return len(text)

    def flush(self) -> None:
        pass


def _measure(run: Callable[[int], Decimal], generations: int) -> tuple[list[float], Counted, int, float]:
    """Run `run(i)` for each generation; (durations, AWS requests, log bytes, model USD)."""
    import contextlib

    from contentgen.clients.aws import get_dynamodb_client, get_events_client
    from contentgen.clients.dynamodb import DynamoDBClient
    from contentgen.observability import logger

    counted = Counted()
    for client in (get_dynamodb_client(), get_events_client()):
        client.meta.events.register("provide-client-params.*.*", counted.hook)
    send = DynamoDBClient._make_api_call

    def counting(client: DynamoDBClient, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        counted.record(operation, params)  # the spend ledger's own client (not botocore)
        return send(client, operation, params)

    DynamoDBClient._make_api_call = counting  # type: ignore[method-assign,assignment]
    sink = _CountingSink()
    durations: list[float] = []
    model = Decimal(0)
    handler = logger.registered_handler
    previous = handler.setStream(sink)  # type: ignore[attr-defined]
    # As deployed (LogLevel INFO), whatever the benchmark's own level: each invocation re-applies
    # the Logger's initial level (sampling), so that is the one to set.
    level = logger.initial_log_level
    logger.initial_log_level = logging.INFO
    logger.setLevel(logging.INFO)
    try:
        with contextlib.redirect_stdout(sink):
            for index in range(generations):
                started = time.perf_counter()
                model += run(index)
                durations.append((time.perf_counter() - started) * 1000)
    finally:
        logger.initial_log_level = level
        logger.setLevel(level)
        handler.setStream(previous)  # type: ignore[attr-defined]
        for client in (get_dynamodb_client(), get_events_client()):
            client.meta.events.unregister("provide-client-params.*.*", counted.hook)
        DynamoDBClient._make_api_call = send  # type: ignore[method-assign]
    counted.size_writes(_uncounted_dynamodb())
    return durations, counted, sink.bytes, float(model)


def aws_overhead(generations: int = 200) -> dict[str, Overhead]:
    """Both paths of story_segments; expects moto and the emulator configured in the environment."""
    from local.lambda_context import LocalLambdaContext
    from local.runtime import load_handler
    from local.template import functions

    spec = functions()["StorySegmentsFunction"]
    handler = load_handler(spec)
    http_event = json.loads((ROOT / "events" / "story_segments.json").read_text())
    http_event["requestContext"]["identity"]["apiKeyId"] = "bench-key"
    request = json.loads(http_event["body"])

    def over_http(_: int) -> Decimal:
        response = handler(http_event, LocalLambdaContext(function_name=spec.logical_id))
        assert response["statusCode"] == 200, response
        return Decimal(str(json.loads(response["body"])["usage"]["cost_usd"]))

    sqs_event = json.loads((ROOT / "events" / "story_segments_sqs.json").read_text())
    template = sqs_event["Records"][0]

    def from_queue(_: int) -> Decimal:
        """One invocation: a batch of SQS_BATCH_SIZE messages."""
        records = []
        for _ in range(SQS_BATCH_SIZE):
            body = {
                "request_id": f"bench-{uuid.uuid4().hex}",
                "api_key_id": "bench-pipeline",
                "request": request,
            }
            records.append({**template, "messageId": str(uuid.uuid4()), "body": json.dumps(body)})
        response = handler({"Records": records}, LocalLambdaContext(function_name=spec.logical_id))
        assert response["batchItemFailures"] == [], response
        return _stored_cost([json.loads(r["body"])["request_id"] for r in records])

    handler(http_event, LocalLambdaContext(function_name=spec.logical_id))  # cold start, not measured
    figures: dict[str, Overhead] = {}
    durations, counted, log_bytes, model = _measure(over_http, generations)
    figures["API Gateway (HTTP)"] = overhead(
        durations_ms=durations,
        memory_mb=spec.memory,
        counted=counted,
        log_bytes=log_bytes,
        model_usd=model,
        over_http=True,
    )
    durations, counted, log_bytes, model = _measure(from_queue, max(1, generations // SQS_BATCH_SIZE))
    per_batch = overhead(
        durations_ms=durations,
        memory_mb=spec.memory,
        counted=counted,
        log_bytes=log_bytes,
        model_usd=model,
        over_http=False,
    )
    share = 1 / SQS_BATCH_SIZE  # one invocation serves a batch
    figures[f"SQS (batches of {SQS_BATCH_SIZE})"] = Overhead(
        lambda_compute=per_batch.lambda_compute * share,
        lambda_requests=per_batch.lambda_requests * share,
        api_gateway=0.0,
        dynamodb=per_batch.dynamodb * share,
        # SendMessage per message; the mapping's ReceiveMessage and DeleteMessageBatch per batch.
        sqs=(1 + 2 * share) * SQS_USD_PER_REQUEST,
        eventbridge=per_batch.eventbridge * share,
        logs=per_batch.logs * share,
        model=per_batch.model * share,
    )
    return figures


def _uncounted_dynamodb() -> Any:
    import os

    from local.aws import client

    return client("dynamodb", os.environ["AWS_ENDPOINT_URL"])


def _stored_cost(request_ids: list[str]) -> Decimal:
    from contentgen.config import get_settings
    from contentgen.stores.results import get_result

    total = Decimal(0)
    for request_id in request_ids:
        stored = get_result(request_id, get_settings().pipeline_api_key_id)  # the key charged
        assert stored is not None
        assert stored["status"] == "succeeded", stored
        total += Decimal(str(stored["result"]["usage"]["cost_usd"]))
    return total


def print_aws_overhead(figures: dict[str, Overhead], generations: int, memory_mb: int = 512) -> list[Goal]:
    print(f"\nAWS overhead per 1,000 text generations (story_segments, {generations} measured warm, USD):")
    parts = (
        ("Lambda GB-seconds (arm64, measured)", "lambda_compute"),
        ("Lambda requests", "lambda_requests"),
        ("API Gateway REST requests", "api_gateway"),
        ("DynamoDB on-demand (idempotency, results, spend)", "dynamodb"),
        ("SQS requests", "sqs"),
        ("EventBridge events", "eventbridge"),
        ("CloudWatch Logs ingestion (measured bytes)", "logs"),
    )
    names = list(figures)
    print(f"  {'':50}" + "".join(f"{name:>24}" for name in names))
    for label, attribute in parts:
        row = "".join(f"{getattr(figures[name], attribute) * 1000:>24.5f}" for name in names)
        print(f"  {label:50}{row}")
    print(f"  {'AWS total':50}" + "".join(f"{figures[name].aws * 1000:>24.5f}" for name in names))
    print(
        f"  {'model spend (emulator-reported usage.cost)':50}"
        + "".join(f"{figures[name].model * 1000:>24.5f}" for name in names)
    )
    goals = [
        Goal(
            f"AWS overhead / model spend, {name}",
            figures[name].aws / figures[name].model,
            GOAL_SHARE,
            strict=True,
        )
        for name in names
    ]
    print(
        f"  {'AWS overhead / model spend':50}"
        + "".join(f"{figures[name].aws / figures[name].model:>24.2%}" for name in names)
        + f"   (goal < {GOAL_SHARE:.0%})  "
        + ("PASS" if all(goal.met for goal in goals) else "MISSED")
    )
    # The measured durations have the emulator answering at once; in AWS the function also waits
    # for the provider, billed at the same rate.
    waiting = memory_mb / 1024 * LAMBDA_ARM64_USD_PER_GB_SECOND * 1000
    http = figures[names[0]]
    print(
        f"  provider wait (not in the measured durations): each second of it adds {waiting:.5f} USD "
        f"per 1,000 at {memory_mb} MB, {waiting / (http.model * 1000):.2%} of this model spend"
    )
    return goals


# The fan-out routes whose paid parts are kept for a retry (contentgen.stores.partials).
PARTS_ROUTES = {
    "StorySegmentsInSetsFunction": "story_segments_in_sets.json",
    "StorySegmentsChunkedFunction": "story_segments_chunked.json",
}


@dataclass(frozen=True)
class PartsFigures:
    """Per generation: provider requests, and the paid-parts store's requests, units and USD."""

    provider_requests: float
    reads: float
    writes: float
    write_units: float
    usd: float
    dynamodb_usd: float
    model_usd: float


def parts_overhead(generations: int = 20) -> dict[str, PartsFigures]:
    """The fan-out routes over HTTP with an `Idempotency-Key` (a new one per generation, so every
    generation is a first attempt: one read of its parts and one write per part paid). Each write
    is charged at the item's final size (`Counted.size_writes`), an upper bound: the parts item
    grows with every part."""
    from local.lambda_context import LocalLambdaContext
    from local.runtime import load_handler
    from local.template import functions

    figures: dict[str, PartsFigures] = {}
    for function, event_file in PARTS_ROUTES.items():
        spec = functions()[function]
        handler = load_handler(spec)
        event = json.loads((ROOT / "events" / event_file).read_text())
        event["requestContext"]["identity"]["apiKeyId"] = "bench-key"
        requests = 0

        def run(_: int, handler: Any = handler, event: dict[str, Any] = event, spec: Any = spec) -> Decimal:
            nonlocal requests
            keyed = {**event, "headers": {**event["headers"], "Idempotency-Key": f"bench-{uuid.uuid4().hex}"}}
            response = handler(keyed, LocalLambdaContext(function_name=spec.logical_id))
            assert response["statusCode"] == 200, response
            usage = json.loads(response["body"])["usage"]
            requests += int(usage["provider_requests"])
            return Decimal(str(usage["cost_usd"]))

        run(0)  # cold start, not measured
        requests = 0
        _, counted, _, model = _measure(run, generations)
        parts_usd = (
            counted.parts_write_units * DYNAMODB_USD_PER_WRITE_UNIT
            + counted.parts_reads * DYNAMODB_USD_PER_READ_UNIT
        )
        dynamodb_usd = (
            counted.write_units * DYNAMODB_USD_PER_WRITE_UNIT
            + counted.read_units * DYNAMODB_USD_PER_READ_UNIT
        )
        figures[function] = PartsFigures(
            provider_requests=requests / generations,
            reads=counted.parts_reads / generations,
            writes=counted.parts_writes / generations,
            write_units=counted.parts_write_units / generations,
            usd=parts_usd / generations,
            dynamodb_usd=dynamodb_usd / generations,
            model_usd=model / generations,
        )
    return figures


def print_parts_overhead(figures: dict[str, PartsFigures], generations: int) -> None:
    print(
        f"\nPaid parts kept for retries (Idempotency-Key, {generations} generations each, warm; per generation):"
    )
    print(
        f"  {'function':32}{'provider req':>14}{'parts reads':>13}{'parts writes':>14}{'write units':>13}"
        f"{'USD / 1,000':>13}{'of DynamoDB':>13}{'of model':>10}"
    )
    for function, figure in figures.items():
        print(
            f"  {function:32}{figure.provider_requests:>14.1f}{figure.reads:>13.1f}{figure.writes:>14.1f}"
            f"{figure.write_units:>13.1f}{figure.usd * 1000:>13.5f}{figure.usd / figure.dynamodb_usd:>13.1%}"
            f"{figure.usd / figure.model_usd:>10.2%}"
        )


def main() -> int:
    """This section alone: `python -m local.bench_spend [--generations N]`."""
    import argparse
    import os
    import sys

    from local.aws import AWS_TEST_ENV, MotoServer, provision
    from local.bench import emulator_process
    from local.params_extension import ParametersExtension
    from local.runtime import SHARED, LocalRuntime

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--generations", type=int, default=200)
    args = parser.parse_args()
    os.environ.update(AWS_TEST_ENV)
    moto = MotoServer().start()
    provision(moto.url, environ={})
    extension = ParametersExtension(moto.url).start()  # the functions read their key through it
    try:
        with emulator_process() as emulator_url:
            os.environ.update({key: value for key, value in LocalRuntime().environment().items() if value})
            os.environ.update(
                {
                    "AWS_ENDPOINT_URL": moto.url,
                    "OPENROUTER_BASE_URL": f"{emulator_url}/api/v1",
                    "POWERTOOLS_TRACE_DISABLED": "true",
                    "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port),
                }
            )
            sys.path.insert(0, SHARED)
            figures = aws_overhead(args.generations)
            parts = parts_overhead(max(1, args.generations // 10))
    finally:
        extension.shutdown()
        moto.stop()
    goals = print_aws_overhead(figures, args.generations)
    print_parts_overhead(parts, max(1, args.generations // 10))
    return report(goals)


if __name__ == "__main__":
    raise SystemExit(main())
