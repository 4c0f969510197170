"""The whole local stack in one process: moto (AWS), the provider emulator, the local API.

`make api` runs it in the foreground: the console shows the banner and one line per HTTP request
and per SQS batch; the functions' JSON logs and EMF metrics go to `local-output/api.log`. With
`OPENROUTER_API_KEY` set, text functions talk to the real OpenRouter (the key is stored in the
local SSM, so the SSM path is exercised as in AWS); with `GOOGLE_API_KEY`, media functions talk
to Google.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from local.api_gateway import STAGE, LocalApiServer
from local.api_keys import api_key_id
from local.aws import AWS_TEST_ENV, LOCAL_API_KEY, MotoServer, client, provision
from local.durable import LocalDurableService
from local.emulator import LOCAL_VERTEX_PROJECT, EmulatorServer, start_emulator
from local.event_sources import Poller, QueuePoller, start_pollers
from local.params_extension import ParametersExtension
from local.ports import PortTaken, check_ports
from local.runtime import LocalRuntime
from local.template import (
    REGION,
    ParameterValueError,
    bus_rules,
    functions,
    load_template,
    parameter_variables,
    parameters,
    parameters_from_environment,
    physical_name,
)

OUTPUT = Path(__file__).resolve().parent.parent / "local-output"
# The local stack's daily budget per API key (USD), unless DAILY_BUDGET_USD says otherwise. The
# template's default (10 USD) is a deployed key's; locally the emulator's placeholder media are
# priced like the real ones (an 8 s placeholder video 3.20 USD at Veo's list price, a thumbnail
# 0.04 USD, at the model catalog's prices), so 10 USD is spent after three videos and every generation
# route then answers 429 until midnight. 1,000 USD is some 300 placeholder videos, or about 60
# runs of `make demo`, in a day; the spend table lives in moto's memory, so it starts again with
# the stack.
LOCAL_DAILY_BUDGET_USD = "1000"
# Where a running `make api` writes how to reach it (read by `python -m local.send`).
STATE_FILE = OUTPUT / "stack.json"
# Variables the stack points at its own moto and emulator: a shell's value of these is not read.
WIRED = frozenset(
    {"AWS_ENDPOINT_URL", "OPENROUTER_BASE_URL", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_VERTEX_BASE_URL"}
)


@dataclass
class LocalStack:
    """Start with `LocalStack().start()`; everything listens on 127.0.0.1.

    `console`: where the access lines (one per HTTP request or SQS batch) go; None for none."""

    api_port: int = 0
    aws_port: int = 0
    emulator_port: int = 0
    verbose: bool = False
    console: TextIO | None = None
    moto: MotoServer | None = None
    emulator: EmulatorServer | None = None
    api: LocalApiServer | None = None
    params_extension: ParametersExtension | None = None
    runtime: LocalRuntime = field(default_factory=LocalRuntime)
    pollers: list[Poller] = field(default_factory=list)
    durable: LocalDurableService | None = None
    # Local pace: check a video job after a second (then backing off) rather than after 15; a budget for
    # local use. A shell that sets one of these (`VIDEO_POLL_DELAY_SECONDS=15 make api`) wins.
    overrides: dict[str, str] = field(
        default_factory=lambda: {
            "VIDEO_POLL_DELAY_SECONDS": "1",
            "DAILY_BUDGET_USD": os.environ.get("DAILY_BUDGET_USD") or LOCAL_DAILY_BUDGET_USD,
        }
    )

    # Template parameters set from the shell (`parameters_from_environment`), read when the stack is made.
    parameters: dict[str, str] = field(
        default_factory=lambda: parameters_from_environment(os.environ, skip=WIRED)
    )

    @property
    def google_backend(self) -> str:
        """The Google backend the media functions use, as the template's parameter is set."""
        vertex = self.parameters.get("GoogleGenaiUseVertexai")
        if vertex is None:
            vertex = str(load_template()["Parameters"]["GoogleGenaiUseVertexai"].get("Default", "false"))
        return "Vertex AI" if vertex == "true" else "Gemini Developer API"

    @property
    def real_openrouter(self) -> bool:
        return bool(os.environ.get("OPENROUTER_API_KEY"))

    @property
    def real_google(self) -> bool:
        return bool(os.environ.get("GOOGLE_API_KEY"))

    def start(self) -> LocalStack:
        """Start moto, the emulator (unless both real keys are set), the API and the pollers.

        Raises PortTaken before starting anything when a requested port is in use."""
        ports = {"API_PORT": self.api_port, "AWS_PORT": self.aws_port}
        if not (self.real_openrouter and self.real_google):
            ports["EMULATOR_PORT"] = self.emulator_port
        check_ports(ports)
        os.environ.update(AWS_TEST_ENV)
        self.moto = MotoServer(self.aws_port).start()
        os.environ["AWS_ENDPOINT_URL"] = self.moto.url
        usage_plan = provision(self.moto.url)["ApiUsagePlanId"]

        # The template's environment with its parameters as the shell sets them: a variable fed by a
        # parameter (`GOOGLE_GENAI_USE_VERTEXAI: !Ref GoogleGenaiUseVertexai`) takes the shell's value,
        # checked as CloudFormation checks the parameter (`GOOGLE_GENAI_USE_VERTEXAI=false make api`:
        # the Gemini Developer API), and whatever that parameter decides (conditions) follows it.
        with parameters(**self.parameters):
            environment: dict[str, str] = {}
            for spec in functions().values():
                environment.update({key: value for key, value in spec.environment.items() if value != ""})
        if not self.real_openrouter or not self.real_google:
            self.emulator = start_emulator(port=self.emulator_port)
        if not self.real_openrouter and self.emulator is not None:
            environment["OPENROUTER_BASE_URL"] = f"{self.emulator.url}/api/v1"
        if not self.real_google and self.emulator is not None:
            environment["GOOGLE_GEMINI_BASE_URL"] = self.emulator.url
            environment["GOOGLE_VERTEX_BASE_URL"] = self.emulator.url
            # Veo is project-scoped on Vertex AI (local.emulator answers express mode as Google does).
            environment["GOOGLE_CLOUD_PROJECT"] = (
                os.environ.get("GOOGLE_CLOUD_PROJECT") or LOCAL_VERTEX_PROJECT
            )
        environment["API_USAGE_PLAN_ID"] = usage_plan
        if environment.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"):  # keys as the template reads them
            self.params_extension = ParametersExtension(self.moto.url).start()
            environment["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] = str(self.params_extension.port)
        environment.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        from_shell = {variable for variable in parameter_variables() if variable in os.environ} - WIRED
        environment.update({key: value for key, value in self.overrides.items() if key not in from_shell})
        os.environ.update(environment)
        # Durable functions (the video job) run in the testing SDK's runner (local.durable).
        self.durable = LocalDurableService().start_runners()

        self.api = LocalApiServer(
            self.runtime,
            port=self.api_port,
            verbose=self.verbose,
            aws_url=self.moto.url,
            access_log=self.console,
        ).start()
        self.pollers = start_pollers(self.runtime, self.moto.url, console=self.console)
        return self

    def stop(self) -> None:
        if self.durable is not None:
            self.durable.stop()
        for poller in self.pollers:
            poller.stop.set()
        for poller in self.pollers:
            poller.close()
        if self.api is not None:
            self.api.shutdown()
        if self.emulator is not None:
            self.emulator.shutdown()
        if self.params_extension is not None:
            self.params_extension.shutdown()
        if self.moto is not None:
            self.moto.stop()

    @staticmethod
    def deployed_budget() -> str:
        """The template's default daily budget per key (USD), as deployed."""
        return str(load_template()["Parameters"]["DailyBudgetUsd"]["Default"])

    def queue_urls(self) -> dict[str, str]:
        """Request queue (physical name) -> its URL in moto, for every queue a function reads."""
        assert self.moto is not None
        sqs = client("sqs", self.moto.url)
        return {
            physical_name(p.source.queue): sqs.get_queue_url(QueueName=physical_name(p.source.queue))[
                "QueueUrl"
            ]
            for p in self.pollers
            if isinstance(p, QueuePoller)
        }

    def describe(self, log_file: Path | None = None) -> str:
        """The banner: endpoints, keys, credentials, routes, queues, bus, and an example of each path."""
        assert self.api is not None
        assert self.moto is not None
        text = "real OpenRouter" if self.real_openrouter else "emulator (placeholder answers)"
        media = "real Google GenAI" if self.real_google else "emulator (placeholder media)"
        emulator = f"  at {self.emulator.url}" if self.emulator else ""
        bus = physical_name(next(iter(bus_rules())).bus) if bus_rules() else "-"
        queues = self.queue_urls()
        lines = [
            f"local API       {self.api.url}   (also behind the stage: {self.api.url}/{STAGE}/...)",
            f"API key         {LOCAL_API_KEY}   (send it as x-api-key; /health needs none)",
            f"text provider   {text}{emulator}",
            f"media provider  {media}, {self.google_backend} "
            f"(GOOGLE_GENAI_USE_VERTEXAI={'false' if self.google_backend == 'Vertex AI' else 'true'} make api for "
            f"{'the Gemini Developer API' if self.google_backend == 'Vertex AI' else 'Vertex AI'})",
            f"AWS (moto)      {self.moto.url}   region {REGION}",
            "                AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
            f"AWS_DEFAULT_REGION={REGION} AWS_ENDPOINT_URL={self.moto.url}",
            f"event bus       {bus}",
            f"daily budget    {float(self.overrides['DAILY_BUDGET_USD']):,.2f} USD per API key "
            f"(local; DAILY_BUDGET_USD=... to change; deployed default {self.deployed_budget()} USD); "
            "spent so far: contentgen usage",
        ]
        if log_file is not None:
            lines.append(f"function logs   {os.path.relpath(log_file)}   (JSON logs and metrics)")
        lines.append("routes:")
        lines += [
            f"  {route.method:6} {route.path:32} -> {route.function}{'' if route.api_key_required else '  (no key)'}"
            for route in self.api.routes
        ]
        lines.append("queues (SQS -> function):")
        lines += [
            f"  {queues[physical_name(p.source.queue)]}  -> {p.source.function}"
            for p in self.pollers
            if isinstance(p, QueuePoller)
        ]
        lines.append("bus rules (detail-type -> queue):")
        lines += [
            f"  {', '.join(rule.pattern.get('detail-type', ['*']))} -> {physical_name(rule.queue)}"
            for rule in bus_rules()
        ]
        story_queue = queues.get(physical_name("StorySegmentsQueue"), "<queue url>")
        aws = f"AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing aws --region {REGION} --endpoint-url {self.moto.url}"
        key_id = api_key_id(LOCAL_API_KEY, self.moto.url)
        lines += [
            "",
            "try:",
            f"  HTTP    curl -s -X POST {self.api.url}/stories/segments -H 'x-api-key: {LOCAL_API_KEY}' "
            '-H \'content-type: application/json\' -d \'{"prompt": "a robot learns to paint", "segment_count": 3}\'',
            f"  SQS     {aws} sqs send-message --queue-url {story_queue} "
            '--message-body \'{"request_id": "try-1", "api_key_id": "' + str(key_id) + '", '
            '"request": {"prompt": "a robot learns to paint", "segment_count": 3}}\'',
            f"  events  {aws} events put-events --entries "
            f'\'[{{"EventBusName": "{bus}", "Source": "me", "DetailType": "story_segments", '
            '"Detail": "{\\"request_id\\": \\"try-2\\", \\"api_key_id\\": \\"' + str(key_id) + '\\", '
            '\\"prompt\\": \\"a robot learns to paint\\", \\"segment_count\\": 3}"}]\'',
            f"  result  curl -s {self.api.url}/results/try-1 -H 'x-api-key: {LOCAL_API_KEY}'   (try-2 alike)",
            "  or in one step: .venv/bin/python -m local.send story_segments "
            '\'{"prompt": "a robot learns to paint", "segment_count": 3}\' --via sqs   (or --via events)',
        ]
        return "\n".join(lines)

    def write_state(self, path: Path = STATE_FILE) -> None:
        """Record how to reach this stack (for `python -m local.send`)."""
        import json

        assert self.api is not None
        assert self.moto is not None
        path.parent.mkdir(exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "api_url": self.api.url,
                    "aws_url": self.moto.url,
                    "api_key": LOCAL_API_KEY,
                    "pid": os.getpid(),
                }
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="Run contentgen's local stack in the foreground.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("API_PORT", "3000")))
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("AWS_PORT", "5000")))
    parser.add_argument("--emulator-port", type=int, default=int(os.environ.get("EMULATOR_PORT", "8090")))
    parser.add_argument("--verbose", action="store_true", help="also log every HTTP request the standard way")
    args = parser.parse_args()
    terminal = sys.stdout
    OUTPUT.mkdir(exist_ok=True)
    log_file = OUTPUT / "api.log"
    try:
        stack = LocalStack(
            api_port=args.port,
            aws_port=args.aws_port,
            emulator_port=args.emulator_port,
            verbose=args.verbose,
            console=terminal,
        )
    except ParameterValueError as refused:
        print(f"make api: {refused}", file=sys.stderr)
        sys.exit(1)
    # The functions' JSON logs and EMF metrics (written to stdout, as in Lambda) go to the file.
    sys.stdout = log_file.open("w", buffering=1)
    stopping = threading.Event()
    _on_stop_signals(stopping)  # a signal while starting stops the stack once it has started
    try:
        stack.start()
    except PortTaken as taken:
        sys.stdout = terminal
        print(taken, file=sys.stderr)
        sys.exit(1)
    stack.write_state()
    print(stack.describe(log_file), file=terminal, flush=True)
    print("\nrequests:", file=terminal, flush=True)
    try:
        stopping.wait()
        print("stopping", file=sys.stderr, flush=True)
    finally:
        STATE_FILE.unlink(missing_ok=True)
        clean = _stop_within(stack, STOP_SECONDS)
        sys.stdout = terminal
    # Whatever a request or job left running (a worker thread, an ffmpeg it started) must not
    # keep the process alive: children are asked to stop, then the process ends.
    _stop_children()
    if not clean or any(t.is_alive() and not t.daemon for t in threading.enumerate()[1:]):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0 if clean else 1)


# How long the clean-up may take before the stack exits anyway (servers closed, pollers' long
# polls cut short; an in-flight job is not waited for).
STOP_SECONDS = 30.0
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _on_stop_signals(stopping: threading.Event) -> None:
    """SIGTERM (`kill`, a supervisor), SIGINT (Ctrl-C) and SIGHUP (the terminal closed) all stop the
    stack, even when the shell started it with SIGINT ignored (a background job of a
    non-interactive shell inherits SIG_IGN for SIGINT, so Python installs no KeyboardInterrupt).
    A second signal during the clean-up ends the process at once."""

    def handler(signum: int, frame: object) -> None:
        if stopping.is_set():
            os._exit(128 + signum)
        stopping.set()

    for number in _STOP_SIGNALS:
        signal.signal(number, handler)


def _stop_within(stack: LocalStack, seconds: float) -> bool:
    """Run `stack.stop()` in a helper thread; whether it finished within `seconds`."""
    done = threading.Event()

    def stop() -> None:
        try:
            stack.stop()
        finally:
            done.set()

    threading.Thread(target=stop, name="stack-stop", daemon=True).start()
    if not done.wait(seconds):
        print(f"the stack did not stop within {seconds:.0f} s; exiting anyway", file=sys.stderr, flush=True)
        return False
    return True


def _stop_children() -> None:
    """SIGTERM every process this one started that is still running (Linux: from /proc)."""
    me = os.getpid()
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = entry.read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1] == str(me):
            try:
                os.kill(int(entry.parent.name), signal.SIGTERM)
            except OSError:
                continue


if __name__ == "__main__":
    main()
