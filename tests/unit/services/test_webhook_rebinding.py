"""Issue 25 (found by a probe): the webhook sender must connect to the address it checked, not re-resolve.

Public sources:
- OWASP SSRF Prevention Cheat Sheet ("DNS pinning" / time-of-check-time-of-use: validate the
  resolved IP and connect to THAT IP; a second resolution can answer differently, TTL 0).
- The module's own docstring (contentgen.connectors.fetch_guard): "What remains is DNS rebinding
  between this check and the ... fetch, which only the fetcher can close". For webhooks,
  contentgen IS the fetcher (`contentgen.services.webhooks.http_post`), so it must close it.
- Issue 25: the webhook is "never sent to a non-public address".

`attempt_delivery` checks the host with `check_fetchable` (one DNS answer), then `http_post`
hands the URL to urllib, which resolves the name AGAIN (`socket.getaddrinfo`) and connects to
whatever that second answer is. An attacker's DNS with TTL 0 answers a public address to the
check and 169.254.169.254 / 127.0.0.1 to the connect: the signed POST goes to the internal
address. Here the check sees a public address and the connect-time resolution answers
127.0.0.1; no socket may be connected to 127.0.0.1.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from contentgen.connectors import fetch_guard
from contentgen.services import webhooks
from contentgen.services.webhooks import attempt_delivery

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    monkeypatch.delenv("WEBHOOK_SECRET_PARAM", raising=False)
    webhooks.set_webhook_poster(None)  # the real sender (urllib)
    # The guard's resolution: public (what the check sees).
    fetch_guard.set_resolver(lambda name: ["93.184.215.14"])
    real_getaddrinfo = socket.getaddrinfo

    # The connect-time resolution: the rebinding answer.
    def rebound(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.rebind.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port or 443))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    seen: list[Any] = []

    def connect(self: socket.socket, address: Any) -> None:
        seen.append(address)
        raise ConnectionRefusedError("test: connection recorded, not made")

    monkeypatch.setattr(socket, "getaddrinfo", rebound)
    monkeypatch.setattr(socket.socket, "connect", connect)
    yield seen
    webhooks.set_webhook_poster(None)


def test_the_webhook_never_connects_to_an_address_the_check_did_not_see(connects: list[Any]) -> None:
    outcome = attempt_delivery("https://hooks.rebind.example.com/hook", "msg_x", "{}", 1000.0)
    internal = [address for address in connects if address[0] == "127.0.0.1"]
    assert internal == [], (
        f"the signed webhook was sent to {internal} after the guard approved 93.184.215.14 "
        f"(outcome {outcome})"
    )


def test_the_webhook_connects_to_the_address_the_check_approved(connects: list[Any]) -> None:
    outcome = attempt_delivery("https://hooks.rebind.example.com:8443/hook", "msg_y", "{}", 1000.0)
    assert [address[:2] for address in connects] == [("93.184.215.14", 8443)]
    assert outcome["delivered"] is False
    assert outcome["final"] is False  # an unreachable receiver is retried
    assert outcome["error"] == "ConnectionRefusedError"
