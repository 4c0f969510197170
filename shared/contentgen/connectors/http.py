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

The whole attempt is bounded too, not each socket read: httpx's read timeout is "the maximum
duration to wait for a chunk of data to be received" (httpx "Timeouts", read 2026-12-07), so an
answer trickled a byte at a time (a proxy, a keep-alive padder) never trips it and the attempt
runs past the invocation's deadline. Every request gets an end: now + the attempt's timeout (the
read timeout the SDK passed), no later than the invocation's deadline (`core.deadline`); every
socket operation of that request, headers and body alike, waits at most until that end
(`_BoundedStream`), and one past it raises httpcore's ReadTimeout / WriteTimeout, which both SDKs
report as a timeout.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

import httpcore2
import httpx2

from contentgen.clients.tls import ssl_context
from contentgen.config import Settings
from contentgen.core.deadline import current_deadline

# When the current request's attempt must be over (monotonic seconds); None: no request running.
_attempt_ends: ContextVar[float | None] = ContextVar("contentgen_attempt_ends", default=None)


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """`timeout` cut to the time left before the attempt's end; `error` when none is left."""
    ends = _attempt_ends.get()
    if ends is None:
        return timeout
    left = ends - time.monotonic()
    if left <= 0:
        raise error("the attempt's time ran out (whole request bounded, not each read)")
    return left if timeout is None else min(timeout, left)


class _BoundedStream(httpcore2.NetworkStream):
    """A socket stream whose every read and write waits no later than the attempt's end."""

    def __init__(self, stream: httpcore2.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, _left(timeout, httpcore2.ConnectTimeout))
        return _BoundedStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _BoundedBackend(httpcore2.NetworkBackend):
    """httpcore's socket backend, its streams `_BoundedStream`s and its connects bounded alike."""

    def __init__(self) -> None:
        self._backend = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _left(timeout, httpcore2.ConnectTimeout), local_address, socket_options
        )
        return _BoundedStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.NetworkStream:
        stream = self._backend.connect_unix_socket(
            path, _left(timeout, httpcore2.ConnectTimeout), socket_options
        )
        return _BoundedStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


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

    def __init__(
        self,
        *,
        connect_timeout: float,
        limits: httpx2.Limits,
        socket_options: Iterable[Any] | None = None,
    ) -> None:
        # The container's one TLS context (`contentgen.clients.tls`: building one is ~35 ms of CPU).
        super().__init__(verify=ssl_context(), limits=limits, socket_options=socket_options)
        # The same pool `HTTPTransport` builds, with the bounded socket backend.
        self._pool = httpcore2.ConnectionPool(
            ssl_context=ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            socket_options=socket_options,
            network_backend=_BoundedBackend(),
        )
        self.connect_timeout = connect_timeout

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send `request` with its connect and pool phases bounded by `connect_timeout`, and the
        whole request (headers and body) by the attempt's end: now + its read timeout, no later
        than the invocation's deadline."""
        timeouts = dict(request.extensions.get("timeout") or {})
        for phase in ("connect", "pool"):
            given = timeouts.get(phase)
            timeouts[phase] = self.connect_timeout if given is None else min(given, self.connect_timeout)
        request.extensions = {**request.extensions, "timeout": timeouts}
        attempt = timeouts.get("read")
        left = current_deadline().remaining()
        # Set for this request and left set: the SDK reads the body after this returns, in this
        # thread and context; the next request sets its own end.
        _attempt_ends.set(time.monotonic() + (left if attempt is None else min(attempt, left)))
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
