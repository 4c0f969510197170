"""Running the `contentgen` command as people do: in a process of its own, its output piped or
on a terminal (a pseudo-terminal), on the fake clock of `cli_harness.py` (no real waiting)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import tempfile
import termios
from dataclasses import dataclass
from pathlib import Path
from threading import Event

HARNESS = Path(__file__).with_name("cli_harness.py")
COMMAND = str(Path(sys.executable).with_name("contentgen"))


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str  # on a terminal: stdout and stderr share the terminal, so both are in `stdout`
    sleeps: list[float]


def environment(url: str, api_key: str | None = "test-key", **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CONTENTGEN_")}
    env.pop("COLUMNS", None)
    env.update({"CONTENTGEN_API_URL": url, "TERM": "xterm-256color", **extra})
    if api_key is not None:
        env["CONTENTGEN_API_KEY"] = api_key
    return env


def run_cli(
    env: dict[str, str], *arguments: str, cwd: Path | None = None, now: float | None = None
) -> Outcome:
    """The command with its output piped (as in a script or `$(...)`)."""
    with tempfile.TemporaryDirectory() as scratch:
        sleeps = Path(scratch) / "sleeps.json"
        env = {**env, "CONTENTGEN_TEST_SLEEPS": str(sleeps), "CONTENTGEN_TEST_NOW": str(now or "")}
        done = subprocess.run(
            [sys.executable, str(HARNESS), *arguments],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        slept = json.loads(sleeps.read_text()) if sleeps.exists() else []
    return Outcome(done.returncode, done.stdout, done.stderr, slept)


def run_in_terminal(
    env: dict[str, str], *arguments: str, columns: int = 100, now: float | None = None
) -> Outcome:
    """The command on a terminal (a pseudo-terminal of `columns` columns): all it wrote, as a
    terminal receives it (control sequences included)."""
    with tempfile.TemporaryDirectory() as scratch:
        sleeps = Path(scratch) / "sleeps.json"
        env = {**env, "CONTENTGEN_TEST_SLEEPS": str(sleeps), "CONTENTGEN_TEST_NOW": str(now or "")}
        main, secondary = pty.openpty()
        fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        process = subprocess.Popen(
            [sys.executable, str(HARNESS), *arguments],
            env=env,
            stdin=secondary,
            stdout=secondary,
            stderr=secondary,
            close_fds=True,
        )
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the terminal's other side closed (the command ended)
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(main)
        returncode = process.wait(timeout=180)
        slept = json.loads(sleeps.read_text()) if sleeps.exists() else []
    return Outcome(returncode, b"".join(chunks).decode("utf-8", "replace"), "", slept)


def interrupt_cli(env: dict[str, str], *arguments: str, once: Event, waiting_for: str) -> Outcome:
    """The command with its output piped, sent Ctrl-C (SIGINT) once `once` is set (the scripted
    API's `held`: the request the command is waiting on arrived); `waiting_for` names that
    request in the failure when it never comes. No fake sleeps are recorded (`sleeps` is empty)."""
    process = subprocess.Popen(
        [sys.executable, str(HARNESS), *arguments],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert once.wait(120), f"the command never {waiting_for}"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return Outcome(process.returncode, stdout, stderr, [])
