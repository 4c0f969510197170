"""A local API Gateway: serves template.yaml's routes on loopback like `sam local start-api`,
turning each HTTP request into a REST API proxy event (payload 1.0) and invoking the handler
in-process (no Docker)."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from local.api_keys import api_key_id
from local.runtime import LocalRuntime
from local.template import Route, routes

STAGE = "local"


def proxy_event(
    route: Route,
    method: str,
    raw_path: str,
    headers: dict[str, str],
    body: bytes,
    path_parameters: dict[str, str],
    source_ip: str,
) -> dict[str, Any]:
    parsed = urlparse(raw_path)
    query = parse_qs(parsed.query, keep_blank_values=True)
    text: str | None
    try:
        text, encoded = (body.decode() if body else None), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    return {
        "resource": route.path,
        "path": parsed.path,
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
            "path": f"/{STAGE}{parsed.path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": source_ip, "apiKey": headers.get("x-api-key")},
            "accountId": "123456789012",
            "apiId": "local",
        },
        "body": text,
        "isBase64Encoded": encoded,
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

    def _dispatch(self) -> None:
        method = self.command
        path = urlparse(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        allowed = []
        for route in self.server.routes:
            if route.match("*", path) is not None:
                allowed.append(route.method)
            parameters = route.match(method, path)
            if parameters is None:
                continue
            headers = {name.lower(): value for name, value in self.headers.items()}
            event = proxy_event(route, method, self.path, headers, body, parameters, self.client_address[0])
            event["requestContext"]["identity"]["apiKeyId"] = api_key_id(headers.get("x-api-key"))
            try:
                result, _ = self.server.runtime.invoke(route.function, event)
            except Exception as exc:  # what API Gateway does when the integration fails
                self.server.errors.append(repr(exc))
                self._answer(
                    502, b'{"message": "Internal server error"}', {"Content-Type": "application/json"}
                )
                return
            out_headers = {
                name: values[-1] for name, values in (result.get("multiValueHeaders") or {}).items()
            }
            out_headers.update(result.get("headers") or {})
            payload = result.get("body") or ""
            raw = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
            self._answer(int(result.get("statusCode", 200)), raw, out_headers)
            return
        # API Gateway answers unknown routes and methods itself, without invoking a function.
        message = "Missing Authentication Token" if not allowed else f"Method {method} not allowed"
        status = 403 if not allowed else 405
        self._answer(status, json.dumps({"message": message}).encode(), {"Content-Type": "application/json"})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch


class LocalApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, runtime: LocalRuntime, host: str = "127.0.0.1", port: int = 0, verbose: bool = False):
        super().__init__((host, port), _Handler)
        self.runtime = runtime
        self.routes = routes()
        self.verbose = verbose
        self.errors: list[str] = []

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalApiServer:
        threading.Thread(target=self.serve_forever, name="local-api", daemon=True).start()
        return self
