"""A local API Gateway: serves template.yaml's routes on loopback like `sam local start-api`,
turning each HTTP request into a REST API proxy event (payload 1.0) and invoking the handler
in-process (no Docker).

As the deployed REST API does, it:
- refuses a route the template protects (`ApiKeyRequired`) unless `x-api-key` holds an enabled key
  of a usage plan in the local AWS (moto), with the template's INVALID_API_KEY answer (403);
- answers an unknown path or method with MISSING_AUTHENTICATION_TOKEN (404 in the template);
- refuses a request whose proxy event would exceed Lambda's 6 MB invocation payload
  (6,291,456 bytes) with REQUEST_TOO_LARGE (413);
- answers a handler that raised with INTEGRATION_FAILURE (502) and one that did not answer within
  API Gateway's 29 s integration timeout with INTEGRATION_TIMEOUT (504);
- serves each route both at `/path` and behind the stage, `/<StageName>/path` (`/prod/...`), and
  sets `requestContext.path` to the path as requested, so links built from it work either way.
Those answers come from the template's `GatewayResponses` (`local.gateway_responses`) and carry
`X-Request-Id`; the handler's own headers (its `X-Request-Id` included) pass through unchanged.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO
from urllib.parse import parse_qs, urlparse

from local import gateway_responses
from local.api_keys import api_key_id
from local.runtime import LocalRuntime
from local.template import Route, resolve, routes

STAGE = str(resolve({"Ref": "StageName"}))
# Lambda's invocation payload limit (synchronous invoke): 6 MB.
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
LAMBDA_PAYLOAD_LIMIT = 6_291_456
# API Gateway's REST API payload limit (10 MB): larger bodies are not even read.
API_GATEWAY_PAYLOAD_LIMIT = 10_485_760
# API Gateway's REST integration timeout (29 s by default).
INTEGRATION_TIMEOUT_SECONDS = 29.0


def proxy_event(
    route: Route,
    method: str,
    raw_path: str,
    headers: dict[str, str],
    body: bytes,
    path_parameters: dict[str, str],
    source_ip: str,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The REST proxy event (payload 1.0) for a request; `raw_path` is the path as requested
    (with the stage prefix or without), `path` the route's path without the stage."""
    parsed = urlparse(raw_path)
    query = parse_qs(parsed.query, keep_blank_values=True)
    text: str | None
    try:
        text, encoded = (body.decode() if body else None), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    return {
        "resource": route.path,
        "path": strip_stage(parsed.path),
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {key: values[-1] for key, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method,
            "path": parsed.path,
            "stage": STAGE,
            "requestId": request_id or str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": source_ip, "apiKey": headers.get("x-api-key")},
            "accountId": "123456789012",
            "apiId": "local",
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def strip_stage(path: str) -> str:
    """`/prod/videos` -> `/videos`; a path without the stage prefix is returned as it is."""
    prefix = f"/{STAGE}"
    if path == prefix:
        return "/"
    return path.removeprefix(prefix) if path.startswith(prefix + "/") else path


def enabled_api_keys(endpoint_url: str) -> set[str]:
    """Values of the enabled API keys that belong to a usage plan in the local AWS (moto)."""
    from local.aws import client

    apigateway = client("apigateway", endpoint_url)
    in_plans: set[str] = set()
    for plan in apigateway.get_usage_plans().get("items", []):
        in_plans.update(
            key["id"] for key in apigateway.get_usage_plan_keys(usagePlanId=plan["id"]).get("items", [])
        )
    return {
        str(key["value"])
        for key in apigateway.get_api_keys(includeValues=True).get("items", [])
        if key.get("enabled") and key["id"] in in_plans
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LocalApiServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _gateway_answer(self, response_type: str, request_id: str, headers: dict[str, str]) -> int:
        status, out_headers, body = gateway_responses.render(response_type, request_id, headers)
        self._answer(status, body, out_headers)
        return status

    def _dispatch(self) -> None:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        path = strip_stage(urlparse(self.path).path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        route, parameters = self._route(path)
        try:
            status = self._serve(route, parameters, request_id, headers)
        except Exception as exc:  # the gateway itself failed (e.g. moto gone): DEFAULT_5XX, no trace
            self.server.errors.append(repr(exc))
            status = self._gateway_answer("API_CONFIGURATION_ERROR", request_id, headers)
        self.server.access(self.command, urlparse(self.path).path, status, started, route)

    def _route(self, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self.server.routes:
            parameters = route.match(self.command, path)
            if parameters is not None:
                return route, parameters
        return None, {}

    def _serve(
        self, route: Route | None, parameters: dict[str, str], request_id: str, headers: dict[str, str]
    ) -> int:
        length = int(self.headers.get("Content-Length") or 0)
        if length > API_GATEWAY_PAYLOAD_LIMIT:
            self.close_connection = True  # the body is left unread
            return self._gateway_answer("REQUEST_TOO_LARGE", request_id, headers)
        body = self.rfile.read(length) if length else b""
        if route is None:
            # API Gateway answers unknown paths and methods itself, without invoking a function.
            return self._gateway_answer("MISSING_AUTHENTICATION_TOKEN", request_id, headers)
        if route.api_key_required and not self.server.key_accepted(headers.get("x-api-key")):
            return self._gateway_answer("INVALID_API_KEY", request_id, headers)
        event = proxy_event(
            route, self.command, self.path, headers, body, parameters, self.client_address[0], request_id
        )
        event["requestContext"]["identity"]["apiKeyId"] = api_key_id(headers.get("x-api-key"))
        if len(json.dumps(event).encode()) > LAMBDA_PAYLOAD_LIMIT:
            return self._gateway_answer("REQUEST_TOO_LARGE", request_id, headers)
        outcome = self.server.invoke(route.function, event)
        if outcome is None:
            return self._gateway_answer("INTEGRATION_TIMEOUT", request_id, headers)
        if isinstance(outcome, BaseException) or not isinstance(outcome, dict):
            self.server.errors.append(repr(outcome))
            return self._gateway_answer("INTEGRATION_FAILURE", request_id, headers)
        out_headers = {name: values[-1] for name, values in (outcome.get("multiValueHeaders") or {}).items()}
        out_headers.update(outcome.get("headers") or {})
        payload = outcome.get("body") or ""
        raw = base64.b64decode(payload) if outcome.get("isBase64Encoded") else payload.encode()
        status = int(outcome.get("statusCode", 200))
        self._answer(status, raw, out_headers)
        return status

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch


class LocalApiServer(ThreadingHTTPServer):
    """The local REST API on loopback. `aws_url`: the moto server holding the usage plan's keys
    (default `AWS_ENDPOINT_URL`); `access_log`: where one line per request goes (None: nowhere)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        runtime: LocalRuntime,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
        *,
        aws_url: str | None = None,
        access_log: TextIO | None = None,
        integration_timeout: float = INTEGRATION_TIMEOUT_SECONDS,
    ):
        super().__init__((host, port), _Handler)
        self.runtime = runtime
        self.routes = routes()
        self.verbose = verbose
        self.aws_url = aws_url
        self.access_log = access_log
        self.integration_timeout = integration_timeout
        self.errors: list[str] = []
        self._log_lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalApiServer:
        threading.Thread(target=self.serve_forever, name="local-api", daemon=True).start()
        return self

    def key_accepted(self, key: str | None) -> bool:
        """Whether `key` is an enabled API key of a usage plan (read from moto per request, so a
        key disabled or deleted there is refused at once)."""
        if not key:
            return False
        endpoint = self.aws_url or os.environ.get("AWS_ENDPOINT_URL", "")
        return bool(endpoint) and key in enabled_api_keys(endpoint)

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """The handler's result, the exception it raised, or None when it did not answer within
        the integration timeout (the invocation goes on, as Lambda's does)."""
        outcome: list[Any] = []
        done = threading.Event()

        def run() -> None:
            try:
                outcome.append(self.runtime.invoke(function, event)[0])
            except Exception as exc:  # what API Gateway sees as an integration failure
                outcome.append(exc)
            finally:
                done.set()

        threading.Thread(target=run, name=f"invoke-{function}", daemon=True).start()
        if not done.wait(self.integration_timeout):
            return None
        return outcome[0]

    def access(self, method: str, path: str, status: int, started: float, route: Route | None) -> None:
        """One human-readable line per request: time, method, path, status, ms, function."""
        if self.access_log is None:
            return
        elapsed = (time.perf_counter() - started) * 1000
        line = (
            f"{time.strftime('%H:%M:%S')} {method:6} {path} -> {status} "
            f"{elapsed:.0f} ms  {route.function if route else '(gateway)'}"
        )
        with self._log_lock:
            print(line, file=self.access_log, flush=True)
