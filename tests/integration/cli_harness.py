"""Runs the `contentgen` command (its real entry point, in a process of its own) on a fake clock.

Sleeping advances the clock instead of waiting, so a test sees every wait the command would make
without spending it. `CONTENTGEN_TEST_NOW` sets the clock's start (epoch seconds; default now);
the waits made are written as a JSON list to the file `CONTENTGEN_TEST_SLEEPS` names.
Usage: python tests/integration/cli_harness.py <contentgen arguments>
"""

from __future__ import annotations

import json
import os
import signal
import time

from contentgen_client import cli


class FakeTime:
    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        record = os.environ.get("CONTENTGEN_TEST_SLEEPS")
        if record:
            with open(record, "w", encoding="utf-8") as handle:
                json.dump(self.slept, handle)


if __name__ == "__main__":
    # A command typed at a terminal runs with Ctrl-C's default action. The test run itself may be
    # a background job of a non-interactive shell (`make test &`, `nohup`, a CI runner's script),
    # which starts with SIGINT ignored; the ignore is inherited across exec, and Python then
    # installs no KeyboardInterrupt handler, so the Ctrl-C tests' SIGINT would be lost
    # (https://docs.python.org/3/library/signal.html: "SIGINT is translated into a
    # KeyboardInterrupt exception if the parent process has not changed it").
    signal.signal(signal.SIGINT, signal.default_int_handler)
    fake = FakeTime(float(os.environ.get("CONTENTGEN_TEST_NOW") or time.time()))
    cli.SLEEP = fake.sleep
    cli.CLOCK = fake.time
    cli.main()
