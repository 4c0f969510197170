"""Integration fixtures: moto in server mode and the provider emulator, both on loopback.

Handlers are loaded as the template declares them and called with API Gateway events; the real
`openai` SDK goes over HTTP to the emulator and boto3 over HTTP to moto. Keys are read as the
template deploys them: through the Parameters and Secrets extension's endpoint (emulated on
loopback, backed by moto's SSM).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from local.aws import MotoServer, client, create_table_as_declared, provision, queue_attributes
from local.emulator import LOCAL_VERTEX_PROJECT, EmulatorControl, EmulatorServer, start_emulator
from local.event_sources import QueuePoller
from local.lambda_context import LocalLambdaContext
from local.params_extension import ParametersExtension
from local.runtime import LocalRuntime, load_handler
from local.template import (
    ACCOUNT,
    REGION,
    bus_rules,
    functions,
    load_template,
    physical_name,
    queue_sources,
    routes,
    ssm_key_parameters,
)

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
    # Veo is served on Vertex AI's project-scoped path only (the emulator answers express mode's 400).
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", LOCAL_VERTEX_PROJECT)
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


class Owned:
    """AWS resources one test owns: made under names no other test uses, removed at its end.

    The session's moto server is shared; its template resources (tables, queues, the bus) are
    read by many tests. A test that reads a queue or the bus's events makes its own copy here,
    so a message another test left (a dead letter still invisible, a copy delayed by minutes)
    can never reach it, and nothing it leaves reaches anyone."""

    def __init__(self, aws_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.aws_url = aws_url
        self.monkeypatch = monkeypatch
        self.token = uuid.uuid4().hex[:10]
        self.sqs = client("sqs", aws_url)
        self.events = client("events", aws_url)
        self._queues: list[str] = []
        self._rules: list[tuple[str, str]] = []
        self._buses: list[str] = []
        self._tables: list[str] = []

    def name(self, logical_id: str) -> str:
        """A physical name for this test's copy of `logical_id` (SQS allows 80 characters)."""
        return f"t{self.token}-{logical_id}"[:80]

    def _create_queue(self, logical_id: str, attributes: dict[str, str]) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=self.name(logical_id), Attributes=attributes)["QueueUrl"]
        self._queues.append(url)
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{self.name(logical_id)}"
        return url, arn

    def queue(self, function: str, *, visibility_timeout: int | None = None) -> QueuePoller:
        """A copy of `function`'s request queue as the template declares it (its attributes, and
        its redrive policy to a copy of its dead-letter queue: `dead_letters_url`), and a poller
        delivering it to the function. `visibility_timeout` overrides the template's (0: a failed
        receive comes back at once rather than minutes later)."""
        source = next(s for s in queue_sources() if s.function == function)
        resources = load_template()["Resources"]
        attributes = queue_attributes(resources[source.queue].get("Properties", {}))
        if "RedrivePolicy" in attributes:
            policy = json.loads(attributes["RedrivePolicy"])
            dead_name = policy["deadLetterTargetArn"].rsplit(":", 1)[-1]
            dead_logical_id = next(
                logical_id for logical_id in resources if physical_name(logical_id) == dead_name
            )
            dead = queue_attributes(resources[dead_logical_id].get("Properties", {}))
            self.dead_letters_url, dead_arn = self._create_queue(dead_logical_id, dead)
            attributes["RedrivePolicy"] = json.dumps({**policy, "deadLetterTargetArn": dead_arn})
        if visibility_timeout is not None:
            attributes["VisibilityTimeout"] = str(visibility_timeout)
        self._create_queue(source.queue, attributes)
        return QueuePoller(source, LocalRuntime(), self.aws_url, queue_name=self.name(source.queue))

    def bus(self, feeds: QueuePoller | None = None) -> str:
        """An event bus of this test's own, the functions' EVENT_BUS_NAME until the test ends; with
        `feeds`, the template's rule for that poller's function puts events into its queue."""
        name = self.name("bus")
        self.events.create_event_bus(Name=name)
        self._buses.append(name)
        self.monkeypatch.setenv("EVENT_BUS_NAME", name)
        if feeds is not None:
            (rule,) = [r for r in bus_rules() if r.function == feeds.source.function]
            self._rule(name, rule.name, rule.pattern, feeds.queue_arn)
        return name

    def inbox(self, bus: str) -> str:
        """A queue of this test's own hearing every `contentgen` event on `bus`; returns its URL."""
        url, arn = self._create_queue("inbox", {})
        self._rule(bus, "inbox", {"source": ["contentgen"]}, arn)
        return url

    def _rule(self, bus: str, name: str, pattern: dict[str, Any], target_arn: str) -> None:
        self.events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
        self.events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "target", "Arn": target_arn}])
        self._rules.append((bus, name))

    def tables(self, *logical_ids: str) -> None:
        """This test's own copies of the template's tables, named in the functions' environment."""
        dynamodb = client("dynamodb", self.aws_url)
        for logical_id in logical_ids:
            name = self.name(logical_id)
            create_table_as_declared(dynamodb, logical_id, name)
            self._tables.append(name)
            variable = next(
                variable
                for variable, value in LocalRuntime().environment().items()
                if variable.endswith("_TABLE") and value == physical_name(logical_id)
            )
            self.monkeypatch.setenv(variable, name)

    def close(self) -> None:
        for bus, rule in self._rules:
            self.events.remove_targets(Rule=rule, EventBusName=bus, Ids=["target"])
            self.events.delete_rule(Name=rule, EventBusName=bus)
        for bus in self._buses:
            self.events.delete_event_bus(Name=bus)
        for url in self._queues:
            self.sqs.delete_queue(QueueUrl=url)
        dynamodb = client("dynamodb", self.aws_url)
        for table in self._tables:
            dynamodb.delete_table(TableName=table)


@pytest.fixture
def owned(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Owned]:
    """Queues, a bus and tables this test alone reads (see `Owned`)."""
    resources = Owned(stack.aws_url, monkeypatch)
    yield resources
    resources.close()


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
    # Every job a test started is stopped and its invocation in flight waited for: one left
    # running would read the next test's environment and take its provider's faults.
    durable.stop(drain_seconds=600)
    server.shutdown()
    server.server_close()


@dataclass
class RunningStack:
    """`make api` as people run it: `python -m local.stack` in a process of its own."""

    api_url: str
    aws_url: str
    emulator_url: str
    banner: str


@contextmanager
def started_make_api(shell: Mapping[str, str] | None = None) -> Iterator[RunningStack]:
    """The local stack started as `make api` starts it (any free ports), with `shell`'s variables
    in its environment as a shell would set them (`GOOGLE_GENAI_USE_VERTEXAI=false make api`);
    every other variable a template parameter feeds is left out, so the template's defaults hold.

    Waits for its banner (the line `requests:` that follows it), not for a time."""
    import os
    import queue
    import re
    import subprocess
    import sys
    import threading

    from local.template import ROOT, parameter_variables

    scrubbed = {"OPENROUTER_API_KEY", "GOOGLE_API_KEY", "DAILY_BUDGET_USD", "AWS_ENDPOINT_URL", "AWS_PROFILE"}
    scrubbed |= set(parameter_variables())
    environment = {key: value for key, value in os.environ.items() if key not in scrubbed}
    environment.update(shell or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "local.stack", "--port", "0", "--aws-port", "0", "--emulator-port", "0"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name="make-api-output", daemon=True).start()
    banner: list[str] = []
    try:
        while True:
            line = lines.get(timeout=300)
            if line is None:
                raise RuntimeError("the local stack stopped before its banner:\n" + "".join(banner))
            if line.strip() == "requests:":
                break
            banner.append(line)
        text = "".join(banner)
        api = re.search(r"^local API\s+(http://127\.0\.0\.1:\d+)", text, re.M)
        aws = re.search(r"^AWS \(moto\)\s+(http://127\.0\.0\.1:\d+)", text, re.M)
        emulator = re.search(r"^text provider\s+emulator.*\bat (http://127\.0\.0\.1:\d+)", text, re.M)
        assert api is not None, text
        assert aws is not None, text
        assert emulator is not None, text
        yield RunningStack(
            api_url=api.group(1), aws_url=aws.group(1), emulator_url=emulator.group(1), banner=text
        )
    finally:
        process.terminate()  # SIGTERM: the stack cleans up (its state file) and exits
        try:
            process.wait(timeout=180)  # a loaded machine; a durable job may be finishing a step
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=60)


@pytest.fixture(scope="module")
def make_api() -> Iterator[RunningStack]:
    """The local stack started as `make api` starts it (any free ports), until the module ends."""
    with started_make_api() as running:
        yield running
