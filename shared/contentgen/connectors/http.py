"""The HTTP transport both provider SDKs use, with pool and keep-alive settings chosen for Lambda.

A container serves one invocation at a time, so it needs few connections: at most
`MAX_PARALLEL_REQUESTS` (the fan-out bound), all kept alive for reuse. An idle connection is
closed after `HTTP_KEEPALIVE_EXPIRY_SECONDS` (60 s), well before a NAT gateway silently drops it
(350 s idle), and TCP keepalive probes a pooled connection after `TCP_KEEPALIVE_IDLE_SECONDS` so a
dead peer is found rather than written into. Warm invocations reuse the pooled connection: no new
TCP and TLS handshake per request.
"""

from __future__ import annotations

import socket

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


def pooled_transport(settings: Settings) -> httpx2.HTTPTransport:
    size = settings.max_parallel_requests
    return httpx2.HTTPTransport(
        limits=httpx2.Limits(
            max_connections=size,
            max_keepalive_connections=size,
            keepalive_expiry=settings.http_keepalive_expiry_seconds,
        ),
        socket_options=_socket_options(settings),
    )
