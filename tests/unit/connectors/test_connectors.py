from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx2
import pytest
from moto import mock_aws

from contentgen.clients import secrets
from contentgen.connectors import genai_connector, openai_connector
from contentgen.connectors.genai_connector import get_genai_client, reset_genai_client
from contentgen.connectors.openai_connector import get_openai_client, reset_openai_client
from contentgen.errors import SecretUnavailableError

PARAM = "/contentgen/openrouter-api-key"


class SsmCalls:
    """Counts real GetParameter calls made by the layer's SSM provider (botocore's event hooks)."""

    def __init__(self) -> None:
        self.count = 0
        self._hooked: set[int] = set()

    def hook(self) -> None:
        client = secrets._ssm_provider().client
        if id(client) not in self._hooked:
            client.meta.events.register("before-call.ssm.GetParameter", self._seen)
            self._hooked.add(id(client))

    def _seen(self, **_: Any) -> None:
        self.count += 1


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("OPENROUTER_API_KEY_PARAM", PARAM)
    monkeypatch.setenv("OPENROUTER_BASE_URL", "http://127.0.0.1:9/api/v1")
    with mock_aws():
        client = boto3.client("ssm", region_name="us-east-1")
        client.put_parameter(Name=PARAM, Value="key-one", Type="SecureString")
        yield client


@pytest.fixture
def ssm_calls(ssm: Any) -> SsmCalls:
    calls = SsmCalls()
    calls.hook()
    return calls


def test_same_client_across_calls_with_one_ssm_read(ssm_calls: SsmCalls) -> None:
    clients = {id(get_openai_client()) for _ in range(50)}

    assert len(clients) == 1
    assert ssm_calls.count == 1


def test_client_is_configured_for_openrouter(ssm: Any) -> None:
    client = get_openai_client()

    assert str(client.base_url).rstrip("/") == "http://127.0.0.1:9/api/v1"
    assert client.api_key == "key-one"
    assert client.max_retries == 0, "the layer's retry policy owns retries"
    assert client.default_headers["X-Title"] == "contentgen"
    assert str(client.default_headers["HTTP-Referer"]).startswith("https://")
    timeout = client.timeout
    assert isinstance(timeout, httpx2.Timeout)
    assert timeout.read is not None
    assert timeout.read < 29


def test_reset_builds_a_new_client_and_reads_ssm_again(ssm: Any, ssm_calls: SsmCalls) -> None:
    first = get_openai_client()
    ssm.put_parameter(Name=PARAM, Value="key-two", Type="SecureString", Overwrite=True)

    reset_openai_client()
    second = get_openai_client()

    assert second is not first
    assert second.api_key == "key-two"
    assert ssm_calls.count == 2


def test_sixteen_threads_racing_on_a_cold_container_build_one_client(
    ssm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = 0
    real_read = secrets.read_api_key

    def slow_read(spec: secrets.SecretSpec) -> str:
        nonlocal builds
        builds += 1
        time.sleep(0.05)  # widen the race window
        return real_read(spec)

    monkeypatch.setattr(openai_connector, "read_api_key", slow_read)
    barrier = threading.Barrier(16)
    seen: list[int] = []

    def worker() -> None:
        barrier.wait()
        seen.append(id(get_openai_client()))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(seen) == 16
    assert len(set(seen)) == 1
    assert builds == 1


def test_ssm_failure_is_not_cached(ssm: Any) -> None:
    ssm.delete_parameter(Name=PARAM)
    with pytest.raises(SecretUnavailableError):
        get_openai_client()

    ssm.put_parameter(Name=PARAM, Value="key-three", Type="SecureString")

    assert get_openai_client().api_key == "key-three"


def test_nothing_is_built_at_import() -> None:
    assert openai_connector._client._instance is None
    assert genai_connector._client._instance is None


def test_genai_client_is_lazy_singleton_with_sdk_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "local-google-key")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:9")

    client = get_genai_client()

    assert get_genai_client() is client
    http_options = client._api_client._http_options
    assert http_options.base_url is not None
    assert http_options.base_url.startswith("http://127.0.0.1:9")
    assert http_options.retry_options is not None
    assert http_options.retry_options.attempts == 1, "the layer's retry policy owns retries"
    assert client.vertexai is False
    reset_genai_client()
    assert get_genai_client() is not client


def test_genai_client_follows_the_vertex_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "local-google-key")
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")

    assert get_genai_client().vertexai is True
