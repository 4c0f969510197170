"""Every command the README and the docs show runs as written (issue 23, item 4).

The ```bash / ```sh / ```shell blocks of README.md, docs/*.md and client/README.md are taken
apart into commands (a line, with its `\\` continuations), each ```python block is one script,
and they run in order, one shell per file (so an `export` or a file written by one command serves the next), in a scratch directory that
sees the checkout as a clone does, against the local stack started as `make api` starts it. Each
must exit 0, or the code its line announces with a trailing `# exits N`. ```console blocks are
what needs an AWS account (deploying, the deployed API): shown, not run.

A few commands cannot run inside the test suite; each is named in SKIPPED with the reason and the
test that covers it instead. Nothing else is skipped: a new command in the docs runs here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.conftest import RunningStack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RUNNABLE = ("bash", "sh", "shell")
# (pattern of a command, why it is not run here, what covers it)
SKIPPED: tuple[tuple[str, str], ...] = (
    (r"^make (test|pytest)\b", "is this test suite"),
    (
        r"^(\w+=\S* )*make (demo|api)\b",
        "a whole local stack of its own (make api: in the foreground); this test runs one, "
        "tests/integration/test_local_backends.py one per Google backend (GOOGLE_GENAI_USE_VERTEXAI)",
    ),
    (
        r"^make (bench|build|build-host)\b|^\S*python\S* -m local\.bench\b",
        "minutes of measurement / needs Python 3.13 (tests/unit/test_build.py)",
    ),
    (
        r"^make (sam-\w+)\b|^sam ",
        "needs the SAM CLI and Docker (tests/unit/test_sam_local.py resolves its config)",
    ),
    (r"^make (install|browser|clean|lint|typecheck|openapi)\b", "changes the checkout or the machine"),
    (r"^(\S*/)?(pip|python3?(\.\d+)? -m pip) install\b", "installs packages (make install does)"),
    (r"^git clone\b|^cd contentgen\b", "the clone itself"),
)


@dataclass(frozen=True)
class Command:
    path: str
    line: int
    text: str
    exits: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text}"


def documents() -> list[Path]:
    found = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md")), ROOT / "client" / "README.md"]
    return [path for path in found if path.exists()]


def commands_in(path: Path) -> list[Command]:
    """The commands of the runnable fenced blocks of `path`, in order."""
    found: list[Command] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    fence: str | None = None
    indent = 0
    pending: list[str] = []
    start = 0
    program: list[str] | None = None
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if fence is None:
            opening = re.match(r"^(\s*)(```+|~~~+)\s*([\w+-]*)", raw)
            if opening:
                fence, indent = opening.group(2), len(opening.group(1))
                language = opening.group(3).lower()
                if language == "python":
                    program, start = [], number + 1
                elif language not in RUNNABLE:
                    fence = "skip:" + fence
            continue
        if stripped.startswith(fence.removeprefix("skip:")):
            if program is not None:  # a Python block runs whole, as a script
                code = "\n".join(program)
                found.append(
                    Command(str(path.relative_to(ROOT)), start, f"python - <<'PYTHON'\n{code}\nPYTHON", 0)
                )
                program = None
            fence = None
            continue
        if fence.startswith("skip:"):
            continue
        if program is not None:
            program.append(raw[indent:] if raw[:indent].strip() == "" else raw.lstrip())
            continue
        text = raw[indent:] if raw[:indent].strip() == "" else raw.lstrip()
        if not pending:
            start = number
            if not text.strip() or text.lstrip().startswith("#"):
                continue
        pending.append(text)
        if text.rstrip().endswith("\\"):
            continue
        command = "\n".join(pending)
        pending = []
        announced = re.search(r"#\s*exits (\d+)\s*$", command)
        found.append(
            Command(str(path.relative_to(ROOT)), start, command, int(announced.group(1)) if announced else 0)
        )
    return found


def skip_reason(command: Command) -> str | None:
    first = command.text.lstrip()
    for pattern, reason in SKIPPED:
        if re.search(pattern, first):
            return reason
    return None


def scratch_checkout(tmp_path: Path) -> Path:
    """A directory that reads as the checkout (each top-level entry linked), where commands may
    write their files (thumb.png, pip.json, board.html) without touching it."""
    work = tmp_path / "checkout"
    work.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in (".git", "local-output") and not (work / entry.name).exists():
            (work / entry.name).symlink_to(entry)
    (work / "local-output").mkdir()  # as `make api` creates it (the docs write their files there)
    return work


def pointed_at(stack: RunningStack, text: str) -> str:
    """`text` with the documented default ports replaced by the test stack's (any free ports)."""
    ports = {"3000": stack.api_url, "5000": stack.aws_url, "8090": stack.emulator_url}
    for documented, url in ports.items():
        text = re.sub(rf"(127\.0\.0\.1|localhost):{documented}\b", f"127.0.0.1:{url.rsplit(':', 1)[1]}", text)
    return text


def test_the_docs_hold_commands_to_run() -> None:
    every = [command for path in documents() for command in commands_in(path)]
    assert len(every) >= 10
    assert any("contentgen" in command.text for command in every)
    assert "client/README.md" in {command.path for command in every}


@pytest.mark.parametrize("document", [str(path.relative_to(ROOT)) for path in documents()])
def test_every_documented_command_runs_as_written(
    make_api: RunningStack, tmp_path: Path, document: str
) -> None:
    commands = commands_in(ROOT / document)
    work = scratch_checkout(tmp_path)
    results = tmp_path / "results"
    results.mkdir()
    script = ["set +e"]
    run: list[Command] = []
    for command in commands:
        if skip_reason(command) is not None:
            continue
        index = len(run)
        run.append(command)
        script += [
            f"{{ {pointed_at(make_api, command.text)}\n}} </dev/null >{results}/{index}.out 2>&1",
            f"echo $? >{results}/{index}.rc",
            f"cd {work}",  # a `cd` in the docs lasts for its own command only
        ]
    if not run:
        pytest.skip(f"{document} shows no command that runs locally")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CONTENTGEN_")}
    environment.pop("COLUMNS", None)
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    completed = subprocess.run(
        [shutil.which("bash") or "/bin/bash", "-c", "\n".join(script)],
        cwd=work,
        env=environment,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    failures = []
    for index, command in enumerate(run):
        rc_file = results / f"{index}.rc"
        output = (
            (results / f"{index}.out").read_text(errors="replace")
            if (results / f"{index}.out").exists()
            else ""
        )
        code = int(rc_file.read_text()) if rc_file.exists() else None
        if code != command.exits:
            failures.append(f"{command}\n  exit {code}, expected {command.exits}\n  {output[-1500:]}")
    assert not failures, "\n\n".join(failures) + ("\n" + completed.stderr[-2000:] if completed.stderr else "")
