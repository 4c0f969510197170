"""Probe 22 (issue 22 items 6-7: answer within API Gateway's 29 s; per-attempt timeouts).

httpx's read timeout bounds each socket read, not the whole answer ("read: maximum duration to
wait for a chunk of data to be received", httpx "Timeouts",
https://www.python-httpx.org/advanced/timeouts/). The attempt's ceiling (`PROVIDER_TIMEOUT_SECONDS`,
cut to the deadline) reaches the SDK as that one number, so an upstream that sends its answer a
few bytes at a time (a proxy, a keep-alive padder, a slow network: OpenRouter pads its streams
with `: OPENROUTER PROCESSING` comments "to prevent connection timeouts") is never cut: the
invocation runs past its deadline, and over HTTP past the 29 s after which API Gateway has
already answered 504 to the caller, with the answer paid.

Here: an OpenAI-compatible server that sends the status line and headers at once, then one
space a second for 8 s, then a valid completion. The function has 4 s; it should answer (504
`deadline_exceeded` or similar) within its deadline, not after 8 s.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.integration.conftest import Invoke, Stack

pytestmark = pytest.mark.integration

TRICKLE_SECONDS = 8
COMPLETION = {
    "id": "gen-trickle",
    "object": "chat.completion",
    "created": 1764500000,
    "model": "openai/gpt-6-luna",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Three hooks."}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13, "cost": 0.00001},
}


def _serve(conn: socket.socket) -> None:
    try:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            ),
            0,
        )
        while len(rest) < length:
            rest += conn.recv(65536)
        body = json.dumps(COMPLETION).encode()
        padding = TRICKLE_SECONDS
        conn.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            + f"content-length: {padding + len(body)}\r\n\r\n".encode()
        )
        for _ in range(padding):
            conn.sendall(b" ")
            time.sleep(1)
        conn.sendall(body)
    except OSError:
        pass
    finally:
        conn.close()


@pytest.fixture
def trickler() -> Iterator[str]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=_serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    server.close()


def test_an_answer_trickled_past_the_deadline_is_cut_at_the_deadline(
    stack: Stack, invoke: Invoke, trickler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENROUTER_BASE_URL", f"{trickler}/api/v1")
    monkeypatch.setenv("PROVIDER_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("PROVIDER_MAX_ATTEMPTS", "1")

    started = time.monotonic()
    status, answer = invoke("FreeContentFunction", {"prompt": "Three hooks"}, timeout_seconds=4)
    took = time.monotonic() - started

    assert took < 4, f"answered after {took:.1f} s on a 4 s deadline (attempt ceiling 2 s): {status} {answer}"
