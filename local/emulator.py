"""A provider emulator on loopback: OpenAI chat completions (as OpenRouter serves them) and Gemini
`generateContent` (Developer API and Vertex AI paths), with injectable faults.

Control endpoints (JSON):
- `POST /_emulator/faults` `{"faults": [{"kind": "rate_limit", "count": 2, "retry_after": 1}, ...]}`
  queues faults, consumed in order by the next matching provider requests. Kinds: `rate_limit`
  (429 with `Retry-After` and/or `retry-after-ms`), `server_error` (`status`, default 500),
  `latency` (`ms`, then answers normally), `malformed` (200 with text that is not JSON),
  `wrong_size` (200 with every pinned array one item too long), `drop` (closes the connection
  without answering), `unauthorized` (401), `reply` (200 with the given `content` as the model's
  text), `filtered` (an image or video withheld by the safety filter, with `reason`), `raw`
  (sends `status` (default 200), `headers` and `body` VERBATIM: a JSON value is serialised as is,
  a string is sent as the body's text; e.g. `{"kind": "raw", "target": "openai", "status": 200,
  "body": {"error": {"code": 502, "message": "..."}}}`), so every documented provider answer
  shape can be replayed over the wire. Documented shapes by name (each function below cites its
  source): `quota_per_day` (Gemini 429 RESOURCE_EXHAUSTED naming a per-day QuotaFailure),
  `provider_error` (OpenRouter "Provider returned error" with `metadata.raw` / `provider_name`),
  `image_download` (the upstream could not download the request's `image_url`), `byok` (a 200
  whose usage carries OpenRouter's fee in `cost` and the provider's charge in
  `cost_details.upstream_inference_cost`).
  Optional `target`: `openai` or `gemini` (every Google call: Gemini, Imagen, Veo).
  `{"faults": []}` or `DELETE /_emulator/faults` clears the queue.
- Google media: Imagen `:predict` and Gemini `generateContent` with `responseModalities: ["IMAGE"]`
  answer a PNG of the requested aspect ratio. Veo on Vertex AI: `:predictLongRunning` on the
  project-scoped path (`/v1beta1/projects/P/locations/L/publishers/google/models/X`; express
  mode's project-less path gets express mode's 400, `local.emulator_catalog`) starts an
  operation that `:fetchPredictOperation` reports done after `video_polls` checks (config,
  default 2), with the video's bytes; the faults `video_failed` and `filtered` taken by the
  start make that operation end in an error or with the video withheld. The Developer API's
  shape of the same: `POST /v1beta/models/{model}:predictLongRunning`, `GET /v1beta/{operation}`
  (done: a file URI) and `GET /v1beta/files/{id}:download?alt=media` (the bytes).
- Gemini Omni on the Developer API, the Interactions API (google-genai 3.4.0 `client.interactions`,
  `google/genai/_gaos/interactions.py`, read 2026-12-06; the flow as verified against the live API
  in https://github.com/TanStack/ai/issues/871, 2026-07-01, read 2026-12-06):
  `POST /{api_version}/interactions` (`v1`, google-genai 3.4.0's default for the Gemini API;
  `v1beta` in the public reports) `{"model", "input", "response_format": {"type": "video", ...},
  "background": true}` answers `{"id", "status": "in_progress", "object": "interaction", ...}`;
  `GET /{api_version}/interactions/{id}` answers `in_progress` until `video_polls` checks, then
  `completed` with the video as the `model_output` step's `{"type": "video", "mime_type":
  "video/mp4", "data": <base64>}`. The fault `video_failed` ends it `failed` with `errors`
  (`[{"code", "message"}]`, the SDK's `Interaction.errors`); `filtered` ends it `completed` with
  only the model's text (no video).
- `POST /_emulator/config` `{"latency_ms": 400, "api_key": "...", "google_api_key": "..."}`:
  latency for every request; the only OpenAI / Google key accepted (default: any non-empty key).
  `"dead_models": {"model-id": 503}`: that model always fails with that status; a chat request's
  `models` list is walked past dead models as OpenRouter does, and the answer names the model
  that served it (its endpoint list, metadata, is still answered). `"rate_limit_per_second": 4, "rate_limit_burst": 2`: an account rate limit
  (token bucket) answered with 429 and the wait in `Retry-After` / `retry-after-ms`.
- Cheap checks: OpenRouter's `GET /api/v1/key` and google-genai's `models.get`.
- The model catalog (`contentgen.catalog`): a model the provider no longer serves (shut down by
  `today`), never served, or not served on that API (a Vertex-only Veo on the Gemini API) gets the
  provider's real 404 (or OpenRouter's 400 for an unknown id), and a Veo `durationSeconds` the model
  does not take gets Veo's real 400: bodies and sources in `local.emulator_catalog`. An OpenRouter
  `models` chain is served by its first live model. `POST /_emulator/config` `{"today":
  "2026-12-06"}` sets the date the catalog is judged on (default: the real date);
  `{"strict_parameters": false}` stops refusing, as OpenRouter does with `require_parameters`, a
  parameter that none of the chain's models takes (on by default); `{"retired": ["model-id"]}`
  answers those models as shut down (the provider's real 404) whatever the catalog says;
  `{"gone_wording": "no_longer_available"}` answers them on the Gemini API in that one of Google's
  documented/reported wordings (`contentgen.connectors.model_gone.WORDINGS`, sources there);
  `{"free_tier": true}` answers the Gemini API as it answers a free-tier key: paid-only media
  models declined (429 `limit: 0`, Veo's ambiguous 404) while `models.get` still lists them
  (`local.emulator_catalog.free_tier_refusal`, sources there).
- `POST /_emulator/reset` (faults, config, records and operations back to the start); `GET /_emulator/requests` (what was received, newest last);
  `GET /_emulator/stats` (requests in flight now and at most since the last reset). Each
  recorded request carries the client's port, which shows whether connections were reused.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import socket
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from local.emulator_catalog import (
    default_image_model,
    free_tier_quota_failure,
    free_tier_refusal,
    google_refusal,
    interactions_refusal,
    openrouter_endpoints,
    openrouter_refusal,
    openrouter_unknown_model,
)
from local.fake_content import first_user_text, instance_for, reply_text, topic_of
from local.fake_media import SPEECH_RATE, mp4, png, speech_pcm

MAX_RECORDED = 1000
# The Google Cloud project the local stack's Vertex AI calls name (`GOOGLE_CLOUD_PROJECT`): Veo is
# served on the project-scoped path only (`local.emulator_catalog`, express mode).
LOCAL_VERTEX_PROJECT = "contentgen-local"


@dataclass(frozen=True)
class RawError:
    """An error answer from a protocol handler: HTTP status and JSON body."""

    status: int
    body: Any


@dataclass(frozen=True)
class RawBody:
    """A non-JSON answer (a downloaded file)."""

    data: bytes
    content_type: str


@dataclass
class Fault:
    kind: str
    count: int = 1
    target: str | None = None
    status: int = 500
    retry_after: float | None = None
    retry_after_ms: int | None = None
    ms: int = 0
    content: str | None = None
    reason: str = "The image was filtered by the safety settings."
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        allowed = set(cls.__dataclass_fields__)
        values = {key: value for key, value in data.items() if key in allowed}
        if data.get("kind") == "raw":
            values.setdefault("status", 200)
        return cls(**values)


@dataclass
class EmulatorState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    faults: list[Fault] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    api_key: str | None = None
    google_api_key: str | None = None
    latency_ms: int = 0
    video_polls: int = 2
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    counter: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    # Models that always fail with the given status (a dead primary); OpenRouter's `models` list
    # is walked past them, as OpenRouter does.
    dead_models: dict[str, int] = field(default_factory=dict)
    # An account rate limit (token bucket): over it, 429 with the wait until the next token.
    rate_limit_per_second: float = 0.0
    rate_limit_burst: int = 1
    tokens: float = 0.0
    tokens_at: float = 0.0
    # The date the model catalog is judged on (None: today) and whether OpenRouter's
    # `require_parameters` is checked against the catalog's parameters.
    today: date | None = None
    strict_parameters: bool = True
    retired: frozenset[str] = frozenset()
    # Which of Google's "model gone" wordings a retired model is answered in on the Gemini API
    # (`contentgen.connectors.model_gone.WORDING_NAMES`; None: "models/X is not found ...").
    gone_wording: str | None = None
    # The Google key is a Gemini API free-tier key: paid-only media models are declined for it
    # (`local.emulator_catalog.free_tier_refusal`).
    free_tier: bool = False

    def reset(self) -> None:
        with self.lock:
            self.faults.clear()
            self.requests.clear()
            self.api_key = None
            self.google_api_key = None
            self.latency_ms = 0
            self.video_polls = 2
            self.operations.clear()
            self.max_in_flight = self.in_flight
            self.dead_models.clear()
            self.rate_limit_per_second = 0.0
            self.today = None
            self.strict_parameters = True
            self.retired = frozenset()
            self.gone_wording = None
            self.free_tier = False

    def take_token(self) -> float:
        """0 when the request is within the rate limit, else the seconds until it would be."""
        with self.lock:
            if self.rate_limit_per_second <= 0:
                return 0.0
            now = time.monotonic()
            self.tokens = min(
                float(self.rate_limit_burst),
                self.tokens + (now - self.tokens_at) * self.rate_limit_per_second,
            )
            self.tokens_at = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate_limit_per_second

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def take_fault(self, target: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.target in (None, target):
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def record(self, entry: dict[str, Any]) -> int:
        with self.lock:
            self.counter += 1
            self.requests.append(entry)
            del self.requests[:-MAX_RECORDED]
            return self.counter


# -- provider answer shapes, each from a public source (read 2026-12-06) -------------------------


def quota_per_day(fault: Fault) -> tuple[int, dict[str, Any]]:
    """Gemini API 429 RESOURCE_EXHAUSTED for a used-up per-day quota: a `google.rpc.QuotaFailure`
    naming `GenerateRequestsPerDayPerProjectPerModel-FreeTier`, a Help link and a RetryInfo of
    seconds (which a per-day quota does not honour). Verbatim shape from googleapis/python-genai
    #2044 and google-gemini/gemini-cli#8437; "Requests per day (RPD) quotas reset at midnight
    Pacific time" (https://ai.google.dev/gemini-api/docs/rate-limits)."""
    model = fault.content or default_image_model()
    return 429, {
        "error": {
            "code": 429,
            "message": (
                "You exceeded your current quota, please check your plan and billing details. For more "
                "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
            ),
            "status": "RESOURCE_EXHAUSTED",
            "details": [
                free_tier_quota_failure(model, quota_value=100),
                {
                    "@type": "type.googleapis.com/google.rpc.Help",
                    "links": [
                        {
                            "description": "Learn more about Gemini API quotas",
                            "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                        }
                    ],
                },
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "47s"},
            ],
        }
    }


def provider_returned_error(fault: Fault) -> tuple[int, dict[str, Any]]:
    """OpenRouter's "Provider returned error": the upstream's own error as JSON text in
    `error.metadata.raw`, its name in `provider_name` (status `status`, default 400; `content`
    replaces the upstream message). Shape from diegosouzapw/OmniRoute#3044, reVrost/go-openrouter
    #21, crmne/ruby_llm#431; https://openrouter.ai/docs/api-reference/errors ("metadata")."""
    status = fault.status if fault.status != 500 else 400
    upstream = fault.content or "Model 'moonshotai/kimi-k2.6' supports at most 1 image per prompt."
    raw = {"error": {"type": "invalid_request_error", "code": "invalid_request_error", "message": upstream}}
    return status, {
        "error": {
            "message": "Provider returned error",
            "code": status,
            "metadata": {"raw": json.dumps(raw), "provider_name": "Crucible", "is_byok": False},
        },
        "user_id": "user_emulator",
    }


def image_download_failed(fault: Fault) -> tuple[int, dict[str, Any]]:
    """The upstream (OpenAI) could not fetch the request's `image_url`, relayed by OpenRouter: 400
    "Timeout while downloading <url>." / "Error while downloading <url>." with code
    `invalid_image_url` inside `metadata.raw`. OpenAI's own body from riverscuomo/cuomputer#95
    (`{'message': 'Timeout while downloading ....jpg.', 'type': 'invalid_request_error', 'param':
    None, 'code': 'invalid_image_url'}`), crmne/ruby_llm#135, get-convex/agent#166."""
    words = fault.content or "Timeout while downloading https://images.example.com/portrait.png."
    raw = {
        "error": {
            "message": words,
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_image_url",
        }
    }
    return 400, {
        "error": {
            "message": "Provider returned error",
            "code": 400,
            "metadata": {"raw": json.dumps(raw), "provider_name": "OpenAI"},
        }
    }


PROVIDER_SHAPES = {
    "quota_per_day": quota_per_day,
    "provider_error": provider_returned_error,
    "image_download": image_download_failed,
}


def byok_usage(completion: dict[str, Any], fault: Fault) -> dict[str, Any]:
    """A completion served with the account's own provider key (BYOK): `usage.cost` is only
    OpenRouter's fee, the provider's charge is `usage.cost_details.upstream_inference_cost`, and
    `usage.is_byok` is true. Source: https://openrouter.ai/docs/use-cases/usage-accounting
    ("cost_details.upstream_inference_cost: The actual cost charged by the upstream AI provider
    ... only applies to BYOK requests"); ORO-AI/oro v3.0.3 release notes (`usage.is_byok`).
    `content` is "fee,upstream" in USD (default "0.0001,0.002")."""
    fee, upstream = (float(part) for part in (fault.content or "0.0001,0.002").split(","))
    usage = dict(completion.get("usage") or {})
    usage.update({"cost": fee, "is_byok": True, "cost_details": {"upstream_inference_cost": upstream}})
    return {**completion, "usage": usage}


class EmulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return

    # -- plumbing -------------------------------------------------------------------------------

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        content_type = body.content_type if isinstance(body, RawBody) else "application/json"
        payload = body.data if isinstance(body, RawBody) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_raw(self, fault: Fault) -> None:
        """The scripted answer, verbatim: status, headers, and the body (JSON or text)."""
        if isinstance(fault.body, str):
            payload, content_type = fault.body.encode(), "text/plain; charset=utf-8"
        else:
            payload, content_type = json.dumps(fault.body).encode(), "application/json"
        headers = {name.lower(): str(value) for name, value in fault.headers.items()}
        self.send_response(fault.status)
        self.send_header("Content-Type", headers.pop("content-type", content_type))
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- routes ---------------------------------------------------------------------------------

    def do_GET(self) -> None:
        state = self.server.state
        path = urlparse(self.path).path
        if "/interactions/" in path and not path.startswith("/_emulator"):
            self._provider("gemini", {"interaction": path.rsplit("/", 1)[-1]}, self._get_interaction)
            return
        if "/operations/" in path and not path.startswith("/_emulator"):
            self._provider("gemini", {"operationName": path.split("/", 2)[-1]}, self._fetch_operation)
            return
        if path.endswith(":download"):
            self._provider("gemini", {}, self._download_file)
            return
        if path.endswith("/key") and not path.startswith("/_emulator"):
            self._provider("openai", {}, self._key_info)
            return
        if path.startswith("/api/v1/models/") and path.endswith("/endpoints"):
            model = path.removeprefix("/api/v1/models/").removesuffix("/endpoints")
            self._provider("openai", {"model": model}, self._model_endpoints)
            return
        if "/models/" in path and ":" not in path and not path.startswith("/_emulator"):
            self._provider("gemini", {}, self._model_info)
            return
        if self.path.startswith("/_emulator/requests"):
            with state.lock:
                self._send(200, {"requests": list(state.requests)})
        elif self.path.startswith("/_emulator/stats"):
            with state.lock:
                self._send(200, {"in_flight": state.in_flight, "max_in_flight": state.max_in_flight})
        elif self.path.startswith("/_emulator/health"):
            self._send(200, {"status": "ok"})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}"}})

    def do_DELETE(self) -> None:
        """`DELETE /_emulator/faults` clears the queued faults."""
        if urlparse(self.path).path == "/_emulator/faults":
            with self.server.state.lock:
                cleared = len(self.server.state.faults)
                self.server.state.faults.clear()
            self._send(200, {"cleared": cleared})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        state = self.server.state
        path = urlparse(self.path).path
        body = self._read_json()
        if path == "/_emulator/faults":
            with state.lock:
                if not body.get("faults"):  # `{"faults": []}` clears the queue
                    state.faults.clear()
                state.faults.extend(Fault.from_json(item) for item in body.get("faults", []))
            self._send(200, {"queued": len(body.get("faults", []))})
        elif path == "/_emulator/config":
            with state.lock:
                if "api_key" in body:
                    state.api_key = body["api_key"]
                if "google_api_key" in body:
                    state.google_api_key = body["google_api_key"]
                if "latency_ms" in body:
                    state.latency_ms = int(body["latency_ms"])
                if "video_polls" in body:
                    state.video_polls = int(body["video_polls"])
                if "dead_models" in body:
                    state.dead_models = {str(k): int(v) for k, v in dict(body["dead_models"]).items()}
                if "today" in body:
                    state.today = date.fromisoformat(body["today"]) if body["today"] else None
                if "strict_parameters" in body:
                    state.strict_parameters = bool(body["strict_parameters"])
                if "retired" in body:
                    state.retired = frozenset(str(model) for model in body["retired"] or [])
                if "gone_wording" in body:
                    state.gone_wording = str(body["gone_wording"]) if body["gone_wording"] else None
                if "free_tier" in body:
                    state.free_tier = bool(body["free_tier"])
                if "rate_limit_per_second" in body:
                    state.rate_limit_per_second = float(body["rate_limit_per_second"])
                    state.rate_limit_burst = int(body.get("rate_limit_burst") or 1)
                    state.tokens = float(state.rate_limit_burst)
                    state.tokens_at = time.monotonic()
            self._send(200, {"ok": True})
        elif path == "/_emulator/reset":
            state.reset()
            self._send(200, {"ok": True})
        elif path.endswith("/chat/completions"):
            self._provider("openai", body, self._chat_completion)
        elif path.endswith(":generateContent"):
            self._provider("gemini", body, self._generate_content)
        elif path.endswith(":predict"):
            self._provider("gemini", body, self._predict_images)
        elif path.endswith(":predictLongRunning"):
            self._provider("gemini", body, self._start_video)
        elif path.endswith(":fetchPredictOperation"):
            self._provider("gemini", body, self._fetch_operation)
        elif path.endswith("/interactions"):
            self._provider("gemini", body, self._create_interaction)
        else:
            self._send(404, {"error": {"message": f"no route {path}"}})

    def _presented_key(self, target: str) -> str:
        if target == "openai":
            return (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        query_key = parse_qs(urlparse(self.path).query).get("key", [""])[0]
        return (self.headers.get("x-goog-api-key") or query_key).strip()

    def _provider(self, target: str, body: Any, answer: Any) -> None:
        self.server.state.enter()
        try:
            self._answer_provider(target, body, answer)
        finally:
            self.server.state.leave()

    def _answer_provider(self, target: str, body: Any, answer: Any) -> None:
        state = self.server.state
        number = state.record(
            {
                "target": target,
                "path": urlparse(self.path).path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body": body,
                "received_at": time.time(),
                "client_port": self.client_address[1],
            }
        )
        if state.latency_ms:
            time.sleep(state.latency_ms / 1000)
        key = self._presented_key(target)
        expected = state.api_key if target == "openai" else state.google_api_key
        if not key or (expected is not None and key != expected):
            self._send(
                401, {"error": {"message": "invalid API key", "code": 401, "status": "UNAUTHENTICATED"}}
            )
            return
        wait = state.take_token()
        if wait:
            self._send(
                429,
                {"error": {"message": "rate limit exceeded", "code": 429, "status": "RESOURCE_EXHAUSTED"}},
                {"Retry-After": str(max(1, round(wait))), "retry-after-ms": str(int(wait * 1000) + 1)},
            )
            return
        refused, body = self._catalog_refusal(target, body)
        if refused:
            return
        # A dead model fails inference only: its endpoint list is metadata, which OpenRouter still
        # answers for a model whose providers are down (each endpoint carries its `status` and
        # `uptime_last_30m`: https://openrouter.ai/docs/api/api-reference/endpoints/list-all-endpoints-for-a-model,
        # ListEndpointsResponse, read 2026-12-07).
        metadata = target == "openai" and urlparse(self.path).path.endswith("/endpoints")
        if isinstance(body, dict) and state.dead_models and not metadata:
            served = self._serving_model(target, body)
            if served is None:
                status = state.dead_models.get(self._asked_model(target, body), 503)
                self._send(
                    status,
                    {"error": {"message": "model unavailable", "code": status, "status": "UNAVAILABLE"}},
                )
                return
            if target == "openai":
                body = {**body, "model": served}
        fault = state.take_fault(target)
        if fault is not None and fault.kind == "latency":
            time.sleep(fault.ms / 1000)
            fault = None
        if fault is None:
            result = answer(body, number, mode="normal")
            if isinstance(result, RawError):
                self._send(result.status, result.body)
            else:
                self._send(200, result)
        elif fault.kind == "rate_limit":
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            if fault.retry_after_ms is not None:
                headers["retry-after-ms"] = str(fault.retry_after_ms)
            self._send(
                429,
                {"error": {"message": "rate limited", "code": 429, "status": "RESOURCE_EXHAUSTED"}},
                headers,
            )
        elif fault.kind == "server_error":
            self._send(
                fault.status,
                {"error": {"message": "upstream error", "code": fault.status, "status": "UNAVAILABLE"}},
            )
        elif fault.kind == "unauthorized":
            self._send(
                401, {"error": {"message": "invalid API key", "code": 401, "status": "UNAUTHENTICATED"}}
            )
        elif fault.kind == "drop":
            self._drop()
        elif fault.kind == "raw":
            self._send_raw(fault)
        elif fault.kind in PROVIDER_SHAPES:
            status, answer_body = PROVIDER_SHAPES[fault.kind](fault)
            self._send(status, answer_body)
        elif fault.kind == "byok":
            self._send(200, byok_usage(answer(body, number, mode="normal"), fault))
        elif fault.kind in ("malformed", "wrong_size"):
            self._send(200, answer(body, number, mode=fault.kind))
        elif fault.kind == "reply":
            self._send(200, answer(body, number, mode="reply", content=fault.content or ""))
        elif fault.kind in ("filtered", "video_failed"):
            self._send(200, answer(body, number, mode=fault.kind, content=fault.reason))
        else:
            self._send(500, {"error": {"message": f"unknown fault {fault.kind}"}})

    def _catalog_refusal(self, target: str, body: Any) -> tuple[bool, Any]:
        """Answer the provider's error when the catalog says the model is not served (or lacks
        the capability asked for): `(True, body)`; else `(False, body)`, an OpenRouter chain
        narrowed to its live models (`local.emulator_catalog`)."""
        state = self.server.state
        path = urlparse(self.path).path
        if target == "openai" and path.endswith("/endpoints") and isinstance(body, dict):
            refusal = openrouter_unknown_model(str(body.get("model", "")))
            if refusal is None:
                return False, body
        elif target == "openai" and path.endswith("/chat/completions") and isinstance(body, dict):
            refusal, live = openrouter_refusal(
                body, day=state.today, strict_parameters=state.strict_parameters, retired=state.retired
            )
            if refusal is None:
                return False, {**body, "model": live[0], "models": live}
        elif target == "gemini" and path.endswith("/interactions"):
            refusal = interactions_refusal(
                body, state.today, state.retired, path.strip("/").split("/", 1)[0], state.gone_wording
            )
            if refusal is None and state.free_tier and self.command == "POST":
                refusal = free_tier_refusal(path, body)
            if refusal is None:
                return False, body
        elif target == "gemini" and "/models/" in path and "/operations/" not in path:
            refusal = google_refusal(path, body, state.today, state.retired, state.gone_wording)
            if refusal is None and state.free_tier and self.command == "POST":
                refusal = free_tier_refusal(path, body)
            if refusal is None:
                return False, body
        else:
            return False, body
        self._send(refusal.status, refusal.body)
        return True, body

    def _asked_model(self, target: str, body: dict[str, Any]) -> str:
        if target == "openai" or urlparse(self.path).path.endswith("/interactions"):
            return str(body.get("model", ""))
        return urlparse(self.path).path.rsplit("/", 1)[-1].split(":", 1)[0]

    def _serving_model(self, target: str, body: dict[str, Any]) -> str | None:
        """The first model of the request's chain that is not dead (OpenRouter walks `models`)."""
        asked = self._asked_model(target, body)
        chain = [asked, *(body.get("models") or [])] if target == "openai" else [asked]
        dead = self.server.state.dead_models
        return next((model for model in dict.fromkeys(chain) if model not in dead), None)

    # -- protocol answers -----------------------------------------------------------------------

    def _key_info(self, body: dict[str, Any], number: int, *, mode: str, content: str = "") -> dict[str, Any]:
        """OpenRouter's `GET /api/v1/key`: what the presented key is allowed."""
        return {"data": {"label": "emulator", "usage": 0, "limit": None, "is_free_tier": False}}

    def _model_endpoints(
        self, body: dict[str, Any], number: int, *, mode: str, content: str = ""
    ) -> dict[str, Any]:
        """OpenRouter's `GET /api/v1/models/{author}/{slug}/endpoints` (free metadata,
        https://openrouter.ai/docs/api/api-reference/endpoints/list-endpoints, read 2026-12-07):
        `{"data": {"id", "name", "endpoints": [{"provider_name", "supported_parameters", ...}]}}`;
        a model the catalog says is retired (or `retired` by config) has no endpoint left. The 404
        for an id OpenRouter does not know is answered by `_catalog_refusal`."""
        model = str(body.get("model", ""))
        state = self.server.state
        endpoints = openrouter_endpoints(model, state.today, state.retired)
        return {"data": {"id": model, "name": model, "endpoints": endpoints}}

    def _model_info(
        self, body: dict[str, Any], number: int, *, mode: str, content: str = ""
    ) -> dict[str, Any]:
        """google-genai `models.get`: a model's metadata."""
        model = urlparse(self.path).path.rsplit("/", 1)[-1]
        return {"name": f"models/{model}", "displayName": model, "version": "emulator"}

    def _chat_completion(
        self, body: dict[str, Any], number: int, *, mode: str, content: str = ""
    ) -> dict[str, Any]:
        messages = body.get("messages") or []
        prompt = first_user_text(messages)
        topic = topic_of(prompt)
        response_format = body.get("response_format") or {}
        schema = (response_format.get("json_schema") or {}).get("schema")
        if mode == "reply":
            pass
        elif mode == "malformed":
            content = '{"segments": [ this is not JSON'
        elif schema is not None:
            content = reply_text(schema, prompt=prompt, size_delta=1 if mode == "wrong_size" else 0)
        else:
            content = (
                f"{topic[:1].upper()}{topic[1:]}: the first light finds what the night forgot.\n"
                "Stay for the last ten seconds."
            )[: int(body.get("max_tokens") or 4000) * 4]
        prompt_tokens = sum(len(str(message.get("content", ""))) for message in messages) // 4
        completion_tokens = len(content) // 4
        return {
            "id": f"gen-emulator-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "emulator/model"),
            "provider": "Emulator",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "cost": round((prompt_tokens * 0.15 + completion_tokens * 0.6) / 1_000_000, 8),
            },
        }

    def _generate_content(
        self, body: dict[str, Any], number: int, *, mode: str, content: str = ""
    ) -> dict[str, Any]:
        texts = [
            str(part.get("text", ""))
            for content in body.get("contents") or []
            for part in content.get("parts") or []
            if isinstance(part, dict)
        ]
        prompt = texts[0] if texts else ""
        topic = topic_of(prompt)
        config = body.get("generationConfig") or {}
        if "IMAGE" in [str(m).upper() for m in config.get("responseModalities") or []]:
            return self._gemini_image(prompt, config, mode=mode, reason=content)
        if "AUDIO" in [str(m).upper() for m in config.get("responseModalities") or []]:
            return self._gemini_speech(prompt, config, mode=mode, reason=content)
        schema = config.get("responseJsonSchema") or config.get("responseSchema")
        if mode == "reply":
            text = content
        elif mode == "malformed":
            text = "{ not json"
        elif schema is not None:
            text = json.dumps(
                instance_for(schema, prompt=prompt, size_delta=1 if mode == "wrong_size" else 0)
            )
        else:
            text = f"Here is something about {topic}."
        model = urlparse(self.path).path.rsplit("/", 1)[-1].split(":", 1)[0]
        return {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {
                "promptTokenCount": sum(len(t) for t in texts) // 4,
                "candidatesTokenCount": len(text) // 4,
                "totalTokenCount": (sum(len(t) for t in texts) + len(text)) // 4,
            },
            "modelVersion": model,
            "responseId": f"emulator-{number}",
        }

    def _gemini_image(self, prompt: str, config: dict[str, Any], *, mode: str, reason: str) -> dict[str, Any]:
        model = urlparse(self.path).path.rsplit("/", 1)[-1].split(":", 1)[0]
        if mode == "filtered":
            return {
                "candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "IMAGE_SAFETY"}],
                "promptFeedback": {"blockReason": "SAFETY", "blockReasonMessage": reason},
                "modelVersion": model,
            }
        aspect_ratio = (config.get("imageConfig") or {}).get("aspectRatio")
        data = base64.b64encode(png(prompt, aspect_ratio)).decode()
        return {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"inlineData": {"mimeType": "image/png", "data": data}}],
                    },
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {"promptTokenCount": len(prompt) // 4, "candidatesTokenCount": 1290},
            "modelVersion": model,
        }

    def _gemini_speech(
        self, prompt: str, config: dict[str, Any], *, mode: str, reason: str
    ) -> dict[str, Any]:
        """Gemini TTS (`responseModalities: ["AUDIO"]`, `speechConfig.voiceConfig.prebuiltVoiceConfig
        .voiceName`): one `inlineData` part of base64 raw PCM s16le mono at 24 kHz, `mimeType`
        `audio/L16;codec=pcm;rate=24000` (catalog sources `gemini-tts`, `gemini-tts-voices`,
        read 2026-12-06; request shape: github.com/gunpal5/Google_GenerativeAI wiki
        "Speech-Generation", read 2026-12-06), of the text's length at 150 words a minute. Audio output tokens: 32 per
        second (Gemini token counting, ai.google.dev/gemini-api/docs/tokens, "32 tokens per
        second" of audio; not re-read today)."""
        model = urlparse(self.path).path.rsplit("/", 1)[-1].split(":", 1)[0]
        if mode == "filtered":
            return {
                "candidates": [],
                "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                "modelVersion": model,
            }
        pcm = speech_pcm(prompt)
        seconds = len(pcm) / 2 / SPEECH_RATE
        return {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [
                            {
                                "inlineData": {
                                    "mimeType": f"audio/L16;codec=pcm;rate={SPEECH_RATE}",
                                    "data": base64.b64encode(pcm).decode(),
                                }
                            }
                        ],
                    },
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": max(1, len(prompt) // 4),
                "candidatesTokenCount": round(seconds * 32),
                "totalTokenCount": max(1, len(prompt) // 4) + round(seconds * 32),
            },
            "modelVersion": model,
        }

    def _predict_images(
        self, body: dict[str, Any], number: int, *, mode: str, content: str = ""
    ) -> dict[str, Any]:
        instance = (body.get("instances") or [{}])[0]
        parameters = body.get("parameters") or {}
        if mode == "filtered":
            return {"predictions": [{"raiFilteredReason": content}]}
        count = int(parameters.get("sampleCount") or 1)
        image = base64.b64encode(png(str(instance.get("prompt", "")), parameters.get("aspectRatio"))).decode()
        return {"predictions": [{"bytesBase64Encoded": image, "mimeType": "image/png"} for _ in range(count)]}

    def _start_video(
        self, body: dict[str, Any], number: int, *, mode: str, content: str = ""
    ) -> dict[str, Any]:
        path = urlparse(self.path).path
        resource = path.split(":", 1)[0].split("/", 2)[-1]  # drop the /v1beta1/ version segment
        name = f"{resource}/operations/op-{number}"
        instance = (body.get("instances") or [{}])[0]
        self._record_video(
            name,
            mode=mode,
            reason=content,
            prompt=str(instance.get("prompt", "")),
            parameters=body.get("parameters") or {},
        )
        return {"name": name}

    def _record_video(self, key: str, *, mode: str, reason: str, **fields: Any) -> None:
        """Record a long-running video (a `predictLongRunning` operation, an interaction) under
        `key`: done after `video_polls` polls, ending as the fault taken at its start says
        (`filtered`, `video_failed`, in the words `reason`), else with a video. `fields`: what
        its answers need (`prompt`, `parameters`, the interaction's `model`)."""
        state = self.server.state
        with state.lock:
            state.operations[key] = {
                "polls": 0,
                "done_after": state.video_polls,
                "outcome": mode if mode in ("filtered", "video_failed") else "video",
                "reason": reason,
                **fields,
            }

    def _poll_video(self, key: str) -> dict[str, Any] | None:
        """The long-running video recorded under `key`, counting this poll; None when unknown."""
        state = self.server.state
        with state.lock:
            video = state.operations.get(key)
            if video is not None:
                video["polls"] += 1
        return video

    def _create_interaction(
        self, body: dict[str, Any], number: int, *, mode: str, content: str = ""
    ) -> dict[str, Any]:
        """`POST /v1beta/interactions` with `background: true`: a video interaction, in progress."""
        interaction_id = f"v1_emulator-{number}"
        prompt = body.get("input")
        parts = prompt if isinstance(prompt, list) else []
        text = (
            prompt
            if isinstance(prompt, str)
            else " ".join(str(part.get("text", "")) for part in parts if isinstance(part, dict))
        )
        self._record_video(
            interaction_id,
            mode=mode,
            reason=content,
            prompt=str(text or ""),
            parameters=dict(body.get("response_format") or {}),
            model=str(body.get("model", "")),
        )
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return {
            "id": interaction_id,
            "status": "in_progress",
            "object": "interaction",
            "model": body.get("model"),
            "created": now,
            "updated": now,
        }

    def _get_interaction(self, body: dict[str, Any], number: int, *, mode: str, content: str = "") -> Any:
        """`GET /v1beta/interactions/{id}`: in progress, then completed with the video (or failed)."""
        interaction_id = str(body.get("interaction", ""))
        interaction = self._poll_video(interaction_id)
        if interaction is None or "model" not in interaction:
            return RawError(
                404,
                {"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}},
            )
        answer: dict[str, Any] = {
            "id": interaction_id,
            "object": "interaction",
            "model": interaction["model"],
        }
        user = {"type": "user_input", "content": [{"type": "text", "text": interaction["prompt"]}]}
        if interaction["polls"] < interaction["done_after"]:
            return {**answer, "status": "in_progress"}
        if interaction["outcome"] == "video_failed":
            return {
                **answer,
                "status": "failed",
                "errors": [{"code": "internal", "message": interaction["reason"]}],
            }
        if interaction["outcome"] == "filtered":
            refusal = {"type": "model_output", "content": [{"type": "text", "text": interaction["reason"]}]}
            return {**answer, "status": "completed", "steps": [user, refusal]}
        video = base64.b64encode(
            mp4(interaction["prompt"], interaction["parameters"].get("aspect_ratio"))
        ).decode()
        output = {
            "type": "model_output",
            "content": [{"type": "video", "mime_type": "video/mp4", "data": video}],
        }
        return {
            **answer,
            "status": "completed",
            "steps": [user, output],
            "usage": {"output_tokens_by_modality": [{"modality": "video", "tokens": 57920}]},
        }

    def _download_file(self, body: dict[str, Any], number: int, *, mode: str, content: str = "") -> Any:
        file_id = urlparse(self.path).path.rsplit("/", 1)[-1].split(":", 1)[0]
        with self.server.state.lock:
            prompt = next(
                (op["prompt"] for name, op in self.server.state.operations.items() if name.endswith(file_id)),
                "",
            )
        return RawBody(mp4(prompt), "video/mp4")

    def _fetch_operation(self, body: dict[str, Any], number: int, *, mode: str, content: str = "") -> Any:
        name = str(body.get("operationName", ""))
        operation = self._poll_video(name)
        if operation is None:
            return {"error": {"code": 404, "message": f"operation {name} not found", "status": "NOT_FOUND"}}
        if operation["polls"] < operation["done_after"]:
            return {"name": name, "done": False, "metadata": {"progressPercent": 50}}
        if operation["outcome"] == "video_failed":
            return {"name": name, "done": True, "error": {"code": 13, "message": operation["reason"]}}
        if operation["outcome"] == "filtered":
            return {
                "name": name,
                "done": True,
                "response": {"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": [operation["reason"]]},
            }
        if not name.startswith(("publishers/", "projects/")):  # the Developer API: a file to download
            file_id = name.rsplit("/", 1)[-1]
            uri = f"https://generativelanguage.googleapis.com/v1beta/files/{file_id}:download?alt=media"
            return {
                "name": name,
                "done": True,
                "response": {"generateVideoResponse": {"generatedSamples": [{"video": {"uri": uri}}]}},
            }
        video = base64.b64encode(
            mp4(operation["prompt"], operation["parameters"].get("aspectRatio"))
        ).decode()
        return {
            "name": name,
            "done": True,
            "response": {
                "@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
                "videos": [{"bytesBase64Encoded": video, "mimeType": "video/mp4"}],
                "raiMediaFilteredCount": 0,
            },
        }


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), EmulatorHandler)
        self.state = EmulatorState()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def start_emulator(host: str = "127.0.0.1", port: int = 0) -> EmulatorServer:
    """Serve in a daemon thread; `server.shutdown()` stops it."""
    server = EmulatorServer(host, port)
    threading.Thread(target=server.serve_forever, name="provider-emulator", daemon=True).start()
    return server


class EmulatorControl:
    """A client for the control endpoints (tests, demo and bench use it over HTTP)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def faults(self, *faults: dict[str, Any]) -> None:
        self._post("/_emulator/faults", {"faults": list(faults)})

    def configure(self, **settings: Any) -> None:
        self._post("/_emulator/config", settings)

    def reset(self) -> None:
        self._post("/_emulator/reset", {})

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.url}/_emulator/stats", timeout=60) as response:
            result: dict[str, int] = json.loads(response.read())
            return result

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait until no request is being answered (a slow one may outlive its caller's timeout)."""
        deadline = time.monotonic() + timeout
        while self.stats()["in_flight"] and time.monotonic() < deadline:
            time.sleep(0.05)

    def requests(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/_emulator/requests", timeout=60) as response:
            result: list[dict[str, Any]] = json.loads(response.read())["requests"]
            return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()
    server = EmulatorServer(args.host, args.port)
    print(f"provider emulator on {server.url}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
