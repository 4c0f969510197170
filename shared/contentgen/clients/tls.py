"""One TLS context per container, shared by every HTTPS client the layer builds: the providers'
transport (`contentgen.connectors.http.PhasedTransport`) and the spend ledger's DynamoDB client
(`contentgen.clients.dynamodb`).

Cold start (`make bench`, docs/benchmark.md): building a context loads the system's CA bundle,
about 35 ms of CPU under Python 3.13 (`httpx2.create_ssl_context()`, 3 fresh processes), and
each httpx transport built one of its own (the providers' transport two: `HTTPTransport.__init__`'s
and its pool's). A context is safe to share: connections are wrapped from it, each with its own
state, and every client here sets the same ALPN protocols on it (HTTP/1.1).
"""

from __future__ import annotations

import ssl

from contentgen.clients.lazy import LazySingleton


def _build() -> ssl.SSLContext:
    # Cold start: httpx2 is loaded by the provider SDK; it is imported where it is used.
    import httpx2

    return httpx2.create_ssl_context()


_context: LazySingleton[ssl.SSLContext] = LazySingleton(_build)


def ssl_context() -> ssl.SSLContext:
    """The container's TLS context (httpx2's default: certificates and host names verified
    against the system's CA bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set)."""
    return _context.get()
