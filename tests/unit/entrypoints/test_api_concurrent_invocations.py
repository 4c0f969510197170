"""Invocations resolving at once in one process (the local stack's containers, the integration
tests' threads) each see their own request: Powertools keeps a resolver's current event and Lambda
context on its class, once per process (`contentgen.entrypoints.api.InvocationResolver`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel

from contentgen.core.parallel import run_bounded
from contentgen.entrypoints.api import create_app, lambda_entrypoint
from local.lambda_context import LocalLambdaContext


class Echo(BaseModel):
    """A request naming which caller sent it."""

    caller: str


def function(path: str, in_flight: threading.Barrier) -> Callable[[Any, Any], Any]:
    """A function with one route, `path`, answering what its invocation sees once every invocation
    of the test is in flight (all of them past routing and validation, none answered yet)."""
    app = create_app()

    @app.post(path)
    def route(request: Echo) -> dict[str, Any]:
        in_flight.wait()
        seen_on_fan_out = run_bounded(
            [lambda: app.current_event.path, lambda: app.lambda_context.function_name]
        )
        return {
            "caller": request.caller,
            "path": app.current_event.path,
            "body": app.current_event.json_body,
            "function": app.lambda_context.function_name,
            "route_args": app.context.get("_route_args"),
            "fan_out": [outcome.value for outcome in seen_on_fan_out],
        }

    return lambda_entrypoint(app, direct_route=("POST", path))


def test_concurrent_invocations_of_functions_and_of_one_function_see_their_own_request(
    api_event: Callable[..., dict[str, Any]],
) -> None:
    paths = ["/ideas/trending", "/memes/segments", "/content", "/content"]  # two share a resolver
    in_flight = threading.Barrier(len(paths), timeout=60)  # a generous bound on a condition
    handlers = {path: function(path, in_flight) for path in dict.fromkeys(paths)}

    def invoke(caller: int) -> dict[str, Any]:
        path = paths[caller]
        event = api_event("POST", path, {"caller": str(caller)})
        response = handlers[path](event, LocalLambdaContext(function_name=f"fn{caller}", timeout_seconds=29))
        assert response["statusCode"] == 200, response
        answer: dict[str, Any] = json.loads(response["body"])
        answer.pop("usage")  # the spend middleware's (no provider request: nothing charged)
        return answer

    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        answers = list(pool.map(invoke, range(len(paths))))

    assert answers == [
        {
            "caller": str(caller),
            "path": path,
            "body": {"caller": str(caller)},
            "function": f"fn{caller}",
            "route_args": {"request": {"caller": str(caller)}},
            "fan_out": [path, f"fn{caller}"],
        }
        for caller, path in enumerate(paths)
    ]
