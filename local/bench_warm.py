"""The warm story_segments invocation item by item: CPU time of the thread in each part of the code.

`make bench` (`--warm-only`) gives the code's own warm overhead as one figure (the handler against
the bare SDK call, AWS requests taken out). This splits it: a wrapper put on each item after the
handler is loaded (Powertools' resolver and validation, the spend middleware and ledger, the call
policy, structured output, the log lines, the EMF blobs, ...) times it EXCLUSIVE of the items
nested in it, in CPU time of the thread (`time.thread_time_ns`, waits for moto and the emulator
out), for every warm invocation; each item's median is printed, with the SDK call and botocore's
DynamoDB requests apart (not ours), and "ours" = handler - SDK - botocore per invocation. The
same bare `openai` call as the bench is made between invocations (its SDK and transport items
must match ours: same client work, same parsing). moto and the emulator run in their own processes,
as in the bench; the log lines and EMF blobs go to /dev/null.

    .venv/bin/python -m local.bench_warm --iterations 300 --log-level INFO

The wrappers cost about 1 µs each per call; medians of items do not add up to the median of the
whole. Not a goal check (that is `make bench`), a profile without a profiler's distortion.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from local.aws import AWS_TEST_ENV, provision
from local.bench import AWS_LATENCY_MS, EVENT, emulator_process, equivalent_request, quiet
from local.emulator import EmulatorControl
from local.moto_process import moto_process
from local.params_extension import ParametersExtension
from local.runtime import LocalRuntime

_clock = time.thread_time_ns
_stack: list[list[int]] = []
_spent: dict[str, int] = {}
NOT_OURS = ("SDK:", "AWS:")


def _timed(label: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        frame = [_clock(), 0]
        _stack.append(frame)
        try:
            return function(*args, **kwargs)
        finally:
            _stack.pop()
            total = _clock() - frame[0]
            _spent[label] = _spent.get(label, 0) + total - frame[1]
            if _stack:
                _stack[-1][1] += total

    return wrapper


def _method(owner: type, name: str, label: str) -> None:
    setattr(owner, name, _timed(label, owner.__dict__[name]))


def _function(module: Any, name: str, label: str) -> None:
    """Wrap `module.name` wherever contentgen (or the function's app) imported it by name."""
    original = getattr(module, name)
    wrapped = _timed(label, original)
    for loaded in list(sys.modules.values()):
        namespace = getattr(loaded, "__dict__", None)
        if not namespace or not str(getattr(loaded, "__name__", "")).startswith(("contentgen", "aws_lambda")):
            continue
        for key, value in list(namespace.items()):
            if value is original:
                namespace[key] = wrapped


def instrument() -> None:
    """The wrappers, put on after the handler is loaded (never during its import)."""
    import botocore.client
    import httpx2
    from aws_lambda_powertools.event_handler import api_gateway
    from aws_lambda_powertools.event_handler.middlewares import openapi_validation
    from aws_lambda_powertools.logging import lambda_context
    from aws_lambda_powertools.logging.logger import Logger
    from openai.resources.chat.completions import Completions

    import contentgen.billing.meter as meter
    import contentgen.catalog.loader as catalog
    import contentgen.connectors.http as transport
    import contentgen.core.breaker as breaker
    import contentgen.core.retry as retry
    import contentgen.entrypoints.api as api
    import contentgen.entrypoints.spend as spend
    import contentgen.generation.completions as completions
    import contentgen.generation.structured as structured
    import contentgen.models.schema as schema
    import contentgen.observability as observability
    import contentgen.services.stories as stories
    import contentgen.stores.ledger as ledger
    from contentgen.clients.dynamodb import DynamoDBClient

    # Not ours: the SDK call (the bare call does the same work) and botocore's whole request.
    _method(Completions, "create", "SDK: chat.completions.create")
    _method(httpx2.HTTPTransport, "handle_request", "SDK: httpx transport")
    _method(botocore.client.BaseClient, "_make_api_call", "AWS: botocore request (whole)")
    _method(DynamoDBClient, "_make_api_call", "AWS: the ledger's DynamoDB request (whole)")
    # Ours and Powertools': the handler's wrappers and body.
    _method(Logger, "refresh_sample_rate_calculation", "handler: log sampling draw")
    _method(Logger, "structure_logs", "handler: log keys per invocation")
    _function(lambda_context, "build_lambda_context_model", "handler: Lambda context model")
    _method(observability.InvocationMetrics, "flush_metrics", "handler: function metrics flush")
    _method(observability.InvocationMetrics, "add_metric", "handler: function metrics add_metric")
    _function(api, "read_request", "handler: read_request (body parsed, bounded)")
    _function(api, "_event_problem", "handler: event shape check")
    _function(api, "_deadline_for", "handler: deadline")
    _method(logging.Logger, "handle", "logging: lines formatted and written")
    # Powertools' resolver, validation and response.
    _method(api.InvocationResolver, "resolve", "resolver: InvocationResolver.resolve")
    _method(api_gateway.ApiGatewayResolver, "_resolve", "resolver: route match")
    _method(api_gateway.ApiGatewayResolver, "_call_route", "resolver: route call, middleware frames")
    _method(api_gateway.ApiGatewayResolver, "_build_response", "resolver: response built (JSON)")
    # (Powertools' own request middleware before the body-only fast path, for a "before" run.)
    request_validation = getattr(
        api, "_RequestValidation", openapi_validation.OpenAPIRequestValidationMiddleware
    )
    _method(request_validation, "handler", "validation: request")
    _function(openapi_validation, "_request_body_to_args", "validation: request body model")
    _method(openapi_validation.OpenAPIResponseValidationMiddleware, "handler", "validation: response")
    # Spend control.
    _function(spend, "spend_middleware", "spend: middleware")
    _method(ledger.Reservations, "__call__", "spend: reserve (ledger, botocore out)")
    _function(ledger, "settle", "spend: settle (ledger, botocore out)")
    _function(meter, "add_request", "spend: meter")
    # The service, structured output, the call policy.
    _function(stories, "generate_story_segments", "service: story segments")
    _function(structured, "generate_structured", "structured: request built")
    _function(structured, "parse_reply", "structured: reply parsed and validated")
    _function(schema, "strict_json_schema", "structured: schema (cached)")
    _function(completions, "complete_chat", "call: complete_chat")
    _function(completions, "_cost_bound", "call: cost bound")
    _function(catalog, "accepted_parameters", "call: catalog parameters")
    _method(retry.ProviderCaller, "call", "call: policy (fallback loop)")
    _method(retry.ProviderCaller, "_call_model", "call: policy (attempt, limiter, reply read)")
    _method(breaker.CircuitBreaker, "admit", "call: breaker admit")
    _method(breaker.CircuitBreaker, "succeeded", "call: breaker succeeded")
    _method(transport.PhasedTransport, "handle_request", "call: our transport's bounds")
    _function(observability, "record_attempt", "call: provider-call record")
    _function(observability, "write_metrics", "call: provider EMF blob")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="POWERTOOLS_LOG_LEVEL (default WARNING, as `make bench`; the template's default is INFO)",
    )
    args = parser.parse_args()

    os.environ.update(AWS_TEST_ENV)
    with contextlib.ExitStack() as stack:
        moto_url = stack.enter_context(moto_process(AWS_LATENCY_MS))
        provision(moto_url, environ={})
        extension = ParametersExtension(moto_url).start()
        emulator_url = stack.enter_context(emulator_process())
        os.environ.update(
            {
                **{key: value for key, value in LocalRuntime().environment().items() if value},
                "AWS_ENDPOINT_URL": moto_url,
                "OPENROUTER_BASE_URL": f"{emulator_url}/api/v1",
                "DAILY_BUDGET_USD": "1000000",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": args.log_level,
                "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.port),
            }
        )
        EmulatorControl(emulator_url).reset()
        return _measure(emulator_url, args.iterations, args.log_level)


def _measure(emulator_url: str, iterations: int, level: str) -> int:
    import openai
    from openai.resources.chat.completions import Completions

    from local.lambda_context import LocalLambdaContext
    from local.runtime import load_handler
    from local.template import functions

    event = json.loads(EVENT.read_text())
    handler = load_handler(functions()["StorySegmentsFunction"])
    bare = openai.OpenAI(api_key="bench-key", base_url=f"{emulator_url}/api/v1", max_retries=0)
    request: Any = equivalent_request()
    with quiet():
        for _ in range(5):  # warm: clients built, budget read, caches filled
            assert handler(event, LocalLambdaContext(function_name="bench"))["statusCode"] == 200
            bare.chat.completions.create(**request)
    instrument()
    # What no item names: Powertools' Logger and Metrics decorators, the invocation scope, the
    # handler's own body (and the `logging` record of its "request served" line).
    measured = _timed("handler: wrappers and body (the rest)", handler)
    items: dict[str, list[int]] = {}
    bare_items: dict[str, list[int]] = {}
    handler_cpu: list[int] = []
    bare_cpu: list[int] = []
    ours: list[int] = []
    with quiet():
        for index in range(iterations):
            _spent.clear()
            started = _clock()
            response = measured(event, LocalLambdaContext(function_name="bench"))
            total = _clock() - started
            assert response["statusCode"] == 200
            handler_cpu.append(total)
            ours.append(total - sum(value for key, value in _spent.items() if key.startswith(NOT_OURS)))
            for key, value in _spent.items():
                items.setdefault(key, [0] * index).append(value)
            for values in items.values():
                values.extend([0] * (index + 1 - len(values)))
            _spent.clear()
            started = _clock()
            Completions.create(bare.chat.completions, **request)
            bare_cpu.append(_clock() - started)
            for key, value in _spent.items():
                bare_items.setdefault(f"bare call, {key}", []).append(value)

    def ms(values: list[int]) -> str:
        return f"{statistics.median(values) / 1e6:8.3f}"

    print(f"story_segments warm, {iterations} invocations, POWERTOOLS_LOG_LEVEL={level}")
    print("CPU time of the thread, ms, medians (each item exclusive of the items nested in it)")
    print(f"  {'handler, whole':58s}{ms(handler_cpu)}")
    print(f"  {'bare SDK call, whole':58s}{ms(bare_cpu)}")
    for key, values in [
        *bare_items.items(),
        *sorted(items.items(), key=lambda item: -statistics.mean(item[1])),
    ]:
        print(f"  {key:58s}{ms(values)}")
    print(f"  {'ours: handler - SDK - botocore, per invocation':58s}{ms(ours)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
