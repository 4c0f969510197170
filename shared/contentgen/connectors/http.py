"""The HTTP transport both provider SDKs use, with pool and keep-alive settings chosen for Lambda.

A container serves one invocation at a time, so it needs few connections: at most
`MAX_PARALLEL_REQUESTS` (the fan-out bound), all kept alive for reuse. An idle connection is
closed after `HTTP_KEEPALIVE_EXPIRY_SECONDS` (60 s), well before a NAT gateway silently drops it
(350 s idle), and TCP keepalive probes a pooled connection after `TCP_KEEPALIVE_IDLE_SECONDS` so a
dead peer is found rather than written into. Warm invocations reuse the pooled connection: no new
TCP and TLS handshake per request.

Phase-level timeouts: both SDKs take one number per request (openai's `timeout=` float,
google-genai's `HttpOptions.timeout` in ms), which httpx applies to every phase, so a connect that
hangs would wait the whole attempt (httpx "Timeouts": a single number sets the connect, read,
write and pool timeouts alike, https://www.python-httpx.org/advanced/timeouts/, read 2026-12-06;
issue 22 cites openai-python #444 for the SDK side, which the search corpus did not hold).
`PhasedTransport` bounds the connect and pool phases of every request by
`PROVIDER_CONNECT_TIMEOUT_SECONDS` whatever the SDK passed; read and write keep the attempt's
timeout. One mechanism for both SDKs, since both send through this transport.
"""

from __future__ import annotations

import socket
from typing import Any

import httpx2

from contentgen.config import Settings


def _socket_options(settings: Settings) -> list[tuple[int, int, int]]:
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    # Linux (Lambda) names; other systems keep their defaults for the timings.
    for name, value in (
        ("TCP_KEEPIDLE", settings.tcp_keepalive_idle_seconds),
        ("TCP_KEEPINTVL", 10),
        ("TCP_KEEPCNT", 3),
    ):
        if hasattr(socket, name):
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    return options


class PhasedTransport(httpx2.HTTPTransport):
    """An `HTTPTransport` whose requests never wait longer than `connect_timeout` to connect or
    to get a connection from the pool (httpx's `connect` and `pool` timeouts), whatever single
    number the SDK gave as the request's timeout."""

    def __init__(self, *, connect_timeout: float, **options: Any) -> None:
        super().__init__(**options)
        self.connect_timeout = connect_timeout

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        timeouts = dict(request.extensions.get("timeout") or {})
        for phase in ("connect", "pool"):
            given = timeouts.get(phase)
            timeouts[phase] = self.connect_timeout if given is None else min(given, self.connect_timeout)
        request.extensions = {**request.extensions, "timeout": timeouts}
        return super().handle_request(request)


def pooled_transport(settings: Settings) -> httpx2.HTTPTransport:
    """The providers' transport: a small keep-alive pool, TCP keepalive, and phase-level timeouts
    (`PhasedTransport`)."""
    size = settings.max_parallel_requests
    return PhasedTransport(
        connect_timeout=settings.provider_connect_timeout_seconds,
        limits=httpx2.Limits(
            max_connections=size,
            max_keepalive_connections=size,
            keepalive_expiry=settings.http_keepalive_expiry_seconds,
        ),
        socket_options=_socket_options(settings),
    )
