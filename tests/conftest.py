"""Fixtures shared by unit and integration tests.

Every test starts from a clean environment and a cold "container": settings, connectors and the
SSM provider are reset before and after it, so no test sees another's clients or cached keys.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from copy import deepcopy
from pathlib import Path
from typing import Any, NoReturn

import httpx2
import pytest
from hypothesis import settings as hypothesis_settings

from contentgen.clients.aws import reset_aws_clients
from contentgen.clients.dynamodb import use_transport
from contentgen.clients.secrets import reset_ssm_provider
from contentgen.config import get_settings
from contentgen.connectors.fetch_guard import set_resolver
from contentgen.connectors.genai_connector import reset_genai_client
from contentgen.connectors.openai_connector import reset_openai_client
from contentgen.core.breaker import reset_breakers
from contentgen.core.limiter import reset_limiters
from contentgen.core.parallel import reset_pool
from contentgen.core.retry import reset_gone_models
from contentgen.generation.completions import reset_walked_past
from contentgen.observability import logger
from contentgen.services.health import reset_health_cache
from contentgen.stores.access import reset_key_cache
from contentgen.stores.idempotency import reset_idempotency
from contentgen.stores.ledger import forget_budgets
from local.lambda_context import LocalLambdaContext

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"

# Property tests (Hypothesis): every run of `make test`, `make check` and CI tries the SAME examples
# ("ci": derandomized, seeded from each test, no example database), so a rare counterexample cannot
# fail one run and pass the next. `make test-random` (HYPOTHESIS_PROFILE=random) searches afresh with
# more examples and keeps what fails in .hypothesis/ for the next run. docs/testing.md.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("random", derandomize=False, max_examples=500, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A property search takes seconds: every Hypothesis test is `slow` (the marker's definition),
    so none can be left in `make check` by forgetting the mark, and `property` (`make test-random`)."""
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.property)


# Variables a developer's shell might carry that would change what the code under test does.
_SCRUBBED = (
    "OPENROUTER_API_KEY",
    "OPENROUTER_API_KEY_PARAM",
    "OPENROUTER_BASE_URL",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY_PARAM",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_VERTEX_BASE_URL",
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "TEXT_MODEL",
    "MEDIA_BUCKET",
    "PROVIDER_TIMEOUT_SECONDS",
    "PROVIDER_MAX_ATTEMPTS",
    "RETRY_BASE_DELAY_SECONDS",
    "DEADLINE_MARGIN_SECONDS",
    "TEXT_FALLBACK_MODELS",
    "VISION_FALLBACK_MODELS",
    "IMAGE_FALLBACK_MODELS",
    "VIDEO_FALLBACK_MODELS",
    "BREAKER_TABLE",
    "BREAKER_MIN_CALLS",
    "BREAKER_FAILURE_RATE",
    "BREAKER_COOLDOWN_SECONDS",
    "API_USAGE_PLAN_ID",
    "POWERTOOLS_LOGGER_SAMPLE_RATE",
    "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
)


def skip_unless_ci(reason: str) -> NoReturn:
    """Skip a test whose tool (Python 3.13, Chromium) this machine lacks; under CI (`CI` set, as
    `.ci/run` and every CI service set it) fail instead: CI must run every test."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"CI is missing a tool the suite needs: {reason}", pytrace=False)
    pytest.skip(reason)


def reset_container() -> None:
    get_settings.cache_clear()
    reset_openai_client()
    reset_genai_client()
    reset_ssm_provider()
    reset_pool()
    reset_aws_clients()
    reset_breakers()
    reset_limiters()
    reset_gone_models()
    reset_walked_past()
    reset_key_cache()
    reset_health_cache()
    reset_idempotency()  # its DynamoDB client too: a new endpoint or credentials per test
    forget_budgets()  # the spend ledger's budgets as this "container" read them


# Tests never use the real DNS (contentgen.connectors.fetch_guard): names answer from this table.
# `<a.b.c.d>.nip.io` answers a.b.c.d as nip.io does; localtest.me and its subdomains answer
# 127.0.0.1 as they do publicly; `*.example.com` / `*.example.org` answer a public address.
PUBLIC_TEST_ADDRESS = "93.184.215.14"


def table_resolver(name: str) -> list[str]:
    name = name.lower().rstrip(".")
    if name.endswith(".nip.io"):
        return [".".join(name.removesuffix(".nip.io").split(".")[-4:])]
    if name == "localtest.me" or name.endswith(".localtest.me"):
        return ["127.0.0.1"]
    if name.endswith((".example.com", ".example.org", ".example.net")) or name in (
        "example.com",
        "example.org",
        "upload.wikimedia.org",  # events/analyze_character.json
    ):
        return [PUBLIC_TEST_ADDRESS]
    raise OSError(f"test resolver: {name} does not resolve")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in _SCRUBBED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("RETRY_BASE_DELAY_SECONDS", "0.01")
    set_resolver(table_resolver)
    reset_container()
    yield
    reset_container()
    set_resolver(None)


def moto_in_process() -> httpx2.BaseTransport:
    """An httpx transport to moto's server app in this process (WSGI): the same in-memory backends
    `mock_aws`'s boto3 clients read and write, over the real wire protocol; no port, no thread."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return httpx2.WSGITransport(app=DomainDispatcherApplication(create_backend_app))


@pytest.fixture
def ledger_on_moto() -> Iterator[None]:
    """The spend ledger's DynamoDB client (`contentgen.clients.dynamodb`: httpx, not botocore, so
    `mock_aws` does not see it) sent to moto in this process (`moto_in_process`), signed as it
    is in AWS. Use it with `mock_aws`."""
    use_transport(moto_in_process())
    yield
    use_transport(None)


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Everything the layer's Powertools Logger writes during the test (JSON, one line each)."""
    buffer = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def log_records(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


@pytest.fixture
def lambda_context() -> LocalLambdaContext:
    return LocalLambdaContext(function_name="contentgen-test", timeout_seconds=29)


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/ (shapes produced by `sam local generate-event`)."""
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    context = event.get("requestContext")
    if isinstance(context, dict) and "requestTimeEpoch" in context:
        # API Gateway stamps the moment it received the request; the deadline counts from it.
        context["requestTimeEpoch"] = int(time.time() * 1000)
    return event


@pytest.fixture
def api_event() -> Callable[..., dict[str, Any]]:
    """Build an API Gateway REST proxy event from the recorded sample, with another body or path."""
    sample = load_event("story_segments.json")

    def build(method: str, path: str, body: Any = None, *, raw_body: str | None = None) -> dict[str, Any]:
        event = deepcopy(sample)
        event["httpMethod"] = method
        event["path"] = event["resource"] = path
        event["requestContext"]["httpMethod"] = method
        event["requestContext"]["resourcePath"] = path
        event["requestContext"]["path"] = f"/prod{path}"
        event["body"] = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
        return event

    return build


def secret_free(text: str, *secrets: str) -> bool:
    return not any(secret and secret in text for secret in secrets)


def env(**values: str) -> dict[str, str]:
    return dict(os.environ, **values)
