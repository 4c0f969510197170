"""A stand-in API on loopback that answers from a script, for tests of how the client and the
`contentgen` command behave on answers the local stack cannot be made to give on demand (a
daily budget's wait until midnight, a run of 503s with `Retry-After`)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STORY = {
    "title": "Pip",
    "segments": [{"index": 1, "text": "Pip wakes up.", "visual_prompt": "a small robot waking up"}],
    "model": "openai/gpt-4o-mini",
    "usage": {
        "model": "openai/gpt-4o-mini",
        "prompt_tokens": 412,
        "completion_tokens": 230,
        "provider_requests": 1,
        "cost_usd": 0.00019980,
    },
}


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, code: str, message: str, retry_after: int | None = None) -> Answer:
    body = {"message": message, "code": code, "status_code": status, "request_id": f"req-{code}"}
    return Answer(status, body, {"Retry-After": str(retry_after)} if retry_after is not None else {})


@dataclass
class ScriptedApi:
    """Answers each request with the next scripted answer (the last one repeats)."""

    answers: list[Answer]
    requests: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

    def next_answer(self, method: str, path: str) -> Answer:
        self.requests.append((method, path))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@contextmanager
def scripted_api(*answers: Answer) -> Iterator[ScriptedApi]:
    api = ScriptedApi(list(answers))

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if self.path == "/health":  # who answers (the command asks a local API): real providers
                answer = Answer(
                    200, {"status": "ok", "providers": {"openrouter": "openrouter", "google_genai": "google"}}
                )
            else:
                answer = api.next_answer(self.command, self.path)
            data = json.dumps(answer.body).encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="scripted-api", daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
