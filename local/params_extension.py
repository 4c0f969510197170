"""The AWS Parameters and Secrets Lambda Extension's local endpoint, on loopback, backed by moto.

What the deployed functions call when the template enables the extension (see
`contentgen.clients.secrets`): `GET /systemsmanager/parameters/get?name=...&withDecryption=true` with the
header `X-Aws-Parameters-Secrets-Token` equal to the function's `AWS_SESSION_TOKEN`; the answer is
GetParameter's JSON response. Per the extension's documentation
(https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-integration-lambda-extensions.html):
a request without the right token is refused, SSM's errors come back with their HTTP status, and
with `SSM_PARAMETER_STORE_TTL=0` (what the template sets) every request reaches SSM. Start it with
`ParametersExtension(ssm_endpoint).start()` and point `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` at
its `port`.
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
from botocore.exceptions import ClientError

GET_PATH = "/systemsmanager/parameters/get"


class ParametersExtension:
    """Serves the extension's parameter endpoint; `requests` lists the names asked for."""

    def __init__(
        self, ssm_endpoint_url: str | None = None, session_token: str | None = None, port: int = 0
    ) -> None:
        self.ssm_endpoint_url = ssm_endpoint_url  # None: in-process moto (mock_aws)
        self.session_token = session_token  # None: the environment's AWS_SESSION_TOKEN, as in Lambda
        self.requests: list[str] = []
        self.fail_with: int | None = None  # answer every request with this status (outage tests)
        extension = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = extension.answer(self.path, self.headers.get("X-Aws-Parameters-Secrets-Token"))
                payload = json.dumps(body, default=str).encode() if isinstance(body, dict) else body.encode()
                self.send_response(status)
                self.send_header(
                    "Content-Type", "application/json" if isinstance(body, dict) else "text/plain"
                )
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> ParametersExtension:
        self._thread.start()
        return self

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str, token: str | None) -> tuple[int, dict[str, Any] | str]:
        """(status, body) for one request: GetParameter's response, or an error in words."""
        url = urlsplit(path)
        if url.path.rstrip("/") != GET_PATH:
            return 404, "not found"
        expected = (
            self.session_token if self.session_token is not None else os.environ.get("AWS_SESSION_TOKEN")
        )
        if not token or token != expected:
            return 401, "missing or invalid X-Aws-Parameters-Secrets-Token"
        query = parse_qs(url.query)
        names = query.get("name", [])
        if not names:
            return 400, "name is required"
        self.requests.append(names[0])
        if self.fail_with is not None:
            return self.fail_with, "injected failure"
        decrypt = query.get("withDecryption", ["false"])[0].lower() == "true"
        ssm = boto3.client("ssm", endpoint_url=self.ssm_endpoint_url)
        try:
            response = ssm.get_parameter(Name=names[0], WithDecryption=decrypt)
        except ClientError as exc:
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
            return (
                status,
                f"{exc.response['Error'].get('Code', 'Error')}: {exc.response['Error'].get('Message', '')}",
            )
        answer: dict[str, Any] = {key: value for key, value in response.items() if key != "ResponseMetadata"}
        return 200, {**answer, "ResultMetadata": {}}
