"""The whole local stack in one process: moto (AWS), the provider emulator, the local API.

`make api` runs it in the foreground. With `OPENROUTER_API_KEY` set, text functions talk to the
real OpenRouter (the key is stored in the local SSM, so the SSM path is exercised as in AWS).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field

from local.api_gateway import LocalApiServer
from local.aws import AWS_TEST_ENV, LOCAL_API_KEY, MotoServer, provision
from local.emulator import EmulatorServer, start_emulator
from local.event_sources import Poller, QueuePoller, start_pollers
from local.params_extension import ParametersExtension
from local.runtime import LocalRuntime
from local.template import bus_rules


@dataclass
class LocalStack:
    """Start with `LocalStack().start()`; everything listens on 127.0.0.1."""

    api_port: int = 0
    aws_port: int = 0
    emulator_port: int = 0
    verbose: bool = False
    moto: MotoServer | None = None
    emulator: EmulatorServer | None = None
    api: LocalApiServer | None = None
    params_extension: ParametersExtension | None = None
    runtime: LocalRuntime = field(default_factory=LocalRuntime)
    pollers: list[Poller] = field(default_factory=list)
    # Local pace: check a video job every second rather than every 15.
    overrides: dict[str, str] = field(default_factory=lambda: {"VIDEO_POLL_DELAY_SECONDS": "1"})

    @property
    def real_openrouter(self) -> bool:
        return bool(os.environ.get("OPENROUTER_API_KEY"))

    def start(self) -> LocalStack:
        os.environ.update(AWS_TEST_ENV)
        self.moto = MotoServer(self.aws_port).start()
        os.environ["AWS_ENDPOINT_URL"] = self.moto.url
        usage_plan = provision(self.moto.url)["ApiUsagePlanId"]

        environment = {key: value for key, value in self.runtime.environment().items() if value != ""}
        if not self.real_openrouter or not os.environ.get("GOOGLE_API_KEY"):
            self.emulator = start_emulator(port=self.emulator_port)
        if not self.real_openrouter and self.emulator is not None:
            environment["OPENROUTER_BASE_URL"] = f"{self.emulator.url}/api/v1"
        if not os.environ.get("GOOGLE_API_KEY") and self.emulator is not None:
            environment["GOOGLE_GEMINI_BASE_URL"] = self.emulator.url
            environment["GOOGLE_VERTEX_BASE_URL"] = self.emulator.url
        environment["API_USAGE_PLAN_ID"] = usage_plan
        if environment.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"):  # keys as the template reads them
            self.params_extension = ParametersExtension(self.moto.url).start()
            environment["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] = str(self.params_extension.port)
        environment.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        environment.update(self.overrides)
        os.environ.update(environment)

        self.api = LocalApiServer(self.runtime, port=self.api_port, verbose=self.verbose).start()
        self.pollers = start_pollers(self.runtime, self.moto.url)
        return self

    def stop(self) -> None:
        for poller in self.pollers:
            poller.stop.set()
        if self.api is not None:
            self.api.shutdown()
        if self.emulator is not None:
            self.emulator.shutdown()
        if self.params_extension is not None:
            self.params_extension.shutdown()
        if self.moto is not None:
            self.moto.stop()

    def describe(self) -> str:
        assert self.api is not None
        assert self.moto is not None
        provider = (
            "real OpenRouter"
            if self.real_openrouter
            else f"emulator at {self.emulator.url if self.emulator else '-'}"
        )
        lines = [
            f"local API       {self.api.url}",
            f"AWS (moto)      {self.moto.url}",
            f"text provider   {provider}",
            f"API key         {LOCAL_API_KEY}  (x-api-key, for GET /health?deep=true)",
            "routes:",
        ]
        lines += [f"  {route.method:6} {route.path:32} -> {route.function}" for route in self.api.routes]
        lines += [
            f"  SQS    {p.source.queue:32} -> {p.source.function}"
            for p in self.pollers
            if isinstance(p, QueuePoller)
        ]
        lines += [f"  events {rule.name:32} -> {rule.queue}" for rule in bus_rules()]
        return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run contentgen's local stack in the foreground.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("API_PORT", "3000")))
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("AWS_PORT", "5000")))
    parser.add_argument("--emulator-port", type=int, default=int(os.environ.get("EMULATOR_PORT", "8090")))
    parser.add_argument("--verbose", action="store_true", help="log every HTTP request")
    args = parser.parse_args()
    stack = LocalStack(
        api_port=args.port, aws_port=args.aws_port, emulator_port=args.emulator_port, verbose=args.verbose
    ).start()
    print(stack.describe(), flush=True)
    assert stack.api is not None
    print(
        f"\ntry: curl -s -X POST {stack.api.url}/stories/segments "
        '-H \'content-type: application/json\' -d \'{"prompt": "a robot learns to paint", "segment_count": 3}\'',
        flush=True,
    )
    try:
        stack.api.serve_forever()
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
