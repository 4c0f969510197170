"""Integration fixtures: moto in server mode and the provider emulator, both on loopback.

Handlers are loaded as the template declares them and called with API Gateway events; the real
`openai` SDK goes over HTTP to the emulator and boto3 over HTTP to moto. Keys are read as the
template deploys them: through the Parameters and Secrets extension's endpoint (emulated on
loopback, backed by moto's SSM).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local.aws import MotoServer, client, provision
from local.emulator import EmulatorControl, EmulatorServer, start_emulator
from local.lambda_context import LocalLambdaContext
from local.params_extension import ParametersExtension
from local.runtime import LocalRuntime, load_handler
from local.template import functions, routes, ssm_key_parameters

Handler = Callable[[Any, Any], Any]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer().start()
    server.usage_plan_id = provision(server.url, environ={})["ApiUsagePlanId"]
    yield server
    server.stop()


@pytest.fixture(scope="session")
def params_extension(moto_server: MotoServer) -> Iterator[ParametersExtension]:
    extension = ParametersExtension(moto_server.url).start()
    yield extension
    extension.shutdown()


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    server = start_emulator()
    yield server
    server.shutdown()


@pytest.fixture
def provider(emulator: EmulatorServer) -> Iterator[EmulatorControl]:
    control = EmulatorControl(emulator.url)
    control.wait_idle()  # requests an earlier test gave up on must not count in this one
    control.reset()
    yield control
    control.reset()


@dataclass
class Stack:
    ssm: Any
    provider: EmulatorControl
    key: str
    parameter: str
    google_key: str
    aws_url: str

    def rotate_key(self, new_key: str) -> None:
        self.ssm.put_parameter(Name=self.parameter, Value=new_key, Type="SecureString", Overwrite=True)
        self.provider.configure(api_key=new_key)
        self.key = new_key


@pytest.fixture
def stack(
    monkeypatch: pytest.MonkeyPatch,
    moto_server: MotoServer,
    emulator: EmulatorServer,
    provider: EmulatorControl,
    params_extension: ParametersExtension,
) -> Stack:
    """The functions' environment from template.yaml, pointed at the loopback emulators."""
    for name, value in LocalRuntime().environment().items():
        monkeypatch.setenv(name, value)
    # One model per family unless a test asks for fallbacks (tests/integration/test_resilience.py).
    for family in ("TEXT", "VISION", "IMAGE", "VIDEO"):
        monkeypatch.setenv(f"{family}_FALLBACK_MODELS", "")
    monkeypatch.setenv("API_USAGE_PLAN_ID", moto_server.usage_plan_id)
    # Requests without an API key id are charged to the pipeline key: one per test, so the
    # session's shared spend table never puts a test over its daily budget.
    monkeypatch.setenv("PIPELINE_API_KEY_ID", f"it-pipeline-{uuid.uuid4().hex[:12]}")
    # Requests over the local gateway are charged to the local API key for the whole session's
    # shared spend table: a default budget no test run reaches (test_spend.py sets its own per key).
    monkeypatch.setenv("DAILY_BUDGET_USD", "1000000")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    if LocalRuntime().environment().get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"):
        monkeypatch.setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", str(params_extension.port))
    monkeypatch.setenv("OPENROUTER_BASE_URL", f"{emulator.url}/api/v1")
    monkeypatch.setenv("GOOGLE_VERTEX_BASE_URL", emulator.url)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", emulator.url)
    key = f"it-openrouter-key-{uuid.uuid4().hex}"
    google_key = f"it-google-key-{uuid.uuid4().hex}"
    parameters = ssm_key_parameters()
    parameter = parameters["OpenRouterApiKeyParameterName"]
    ssm = client("ssm", moto_server.url)
    ssm.put_parameter(Name=parameter, Value=key, Type="SecureString", Overwrite=True)
    ssm.put_parameter(
        Name=parameters["GoogleApiKeyParameterName"], Value=google_key, Type="SecureString", Overwrite=True
    )
    provider.configure(api_key=key, google_api_key=google_key)
    return Stack(
        ssm=ssm,
        provider=provider,
        key=key,
        parameter=parameter,
        google_key=google_key,
        aws_url=moto_server.url,
    )


@pytest.fixture(scope="session")
def story_handler() -> Handler:
    return load_handler(functions()["StorySegmentsFunction"])


@pytest.fixture(scope="session")
def health_handler() -> Handler:
    return load_handler(functions()["HealthFunction"])


@pytest.fixture
def context() -> LocalLambdaContext:
    return LocalLambdaContext(function_name="StorySegmentsFunction", timeout_seconds=29)


_loaded: dict[str, Handler] = {}


class Invoke:
    """Calls a function (by its template id) with an API Gateway event for its route."""

    def __init__(self, api_event: Callable[..., dict[str, Any]]) -> None:
        self._api_event = api_event

    def __call__(
        self, function: str, body: Any, *, timeout_seconds: float = 29, raw: bool = False
    ) -> tuple[int, dict[str, Any]]:
        handler = _loaded.get(function)
        if handler is None:
            handler = _loaded[function] = load_handler(functions()[function])
        route = next(route for route in routes() if route.function == function)
        event = self._api_event(route.method, route.path, body)
        response = handler(event, LocalLambdaContext(function_name=function, timeout_seconds=timeout_seconds))
        if raw:
            return response["statusCode"], response
        return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def invoke(stack: Stack, api_event: Callable[..., dict[str, Any]]) -> Invoke:
    return Invoke(api_event)


def assert_refused(invoke: Invoke, stack: Stack, function: str, body: Any, field: str) -> None:
    """The request is refused with a 422 naming `field`, and costs no provider call."""
    status, answer = invoke(function, body)
    assert status == 422, answer
    assert field in [error["field"] for error in answer["errors"]]
    assert stack.provider.requests() == []


@pytest.fixture
def local_api(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The local API Gateway over `stack`, with durable functions (the video job) run by the
    testing SDK's runner as on the local stack (`local.durable`, waits skipped); yields its URL.

    For tests that go through the API over HTTP as its callers do (client, CLI, contract)."""
    from local.api_gateway import LocalApiServer
    from local.durable import LocalDurableService

    monkeypatch.setenv("VIDEO_POLL_DELAY_SECONDS", "1")
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    server = LocalApiServer(LocalRuntime()).start()
    durable = LocalDurableService(skip_time=True).start_runners()
    yield server.url
    durable.stop()
    server.shutdown()
    server.server_close()
