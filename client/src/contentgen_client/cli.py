"""The `contentgen` command: one subcommand per API route, plus `storyboard`.

Human-readable output by default, `--json` for scripts (the API's answer as it is; an error, usage
errors included, as `{"error": {...}}`). The global options (`--url`, `--api-key`, `--json`,
`--timeout`, `--max-wait`, `--no-retry`) go before or after the subcommand. Exit codes:

| code | meaning |
| --- | --- |
| 0 | success |
| 1 | unexpected failure in the command itself (e.g. a paid file could not be written where asked: it was written elsewhere, and the command says where) |
| 2 | usage error (bad option or argument, a missing file; nothing was sent) |
| 3 | the API refused the request (4xx: invalid, unauthorised, not found, conflict, rate limited, over budget) |
| 4 | the provider or service failed (5xx), or the API could not be reached |
| 5 | the model or safety filter declined (422 `content_filtered`) |
| 6 | a video job failed, did not finish within `--wait-timeout`, or is not finished (`video-status --output`) |
| 130 | interrupted (Ctrl-C); a followed video job goes on, and the message names it |

Waits: the client retries what the API says to retry, waiting what `Retry-After` says, but never
more than `--max-wait` seconds in all (30); a longer wait (a spent daily budget answers "come back
at midnight") fails at once and says when to come back. Each wait is shown: a status line on a
terminal, one line on stderr otherwise. `--no-retry` sends each request once.

The API's URL and key come from `--url` / `--api-key` or `CONTENTGEN_API_URL` / `CONTENTGEN_API_KEY`.
"""

from __future__ import annotations

import base64
import io
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup, TyperOption

from contentgen_client.client import DEFAULT_MAX_WAIT, Client, RetryWait, format_duration
from contentgen_client.errors import (
    AuthenticationError,
    ClientError,
    ContentFilteredError,
    ContentgenError,
    JobFailedError,
    WaitTimeoutError,
)
from contentgen_client.models import (
    CharacterResponse,
    ContentResponse,
    IdeasResponse,
    MemeResponse,
    StoryResponse,
    StorySetsResponse,
    Usage,
    UsageReport,
    VideoJobStatus,
)
from contentgen_client.storyboard import DEFAULT_CONCURRENCY, Frame, build_storyboard

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, EXIT_CLIENT, EXIT_SERVER, EXIT_FILTERED, EXIT_JOB = range(7)
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT
# The most base64 `character` sends: API Gateway and Lambda take at most 6 MB (6,291,456 bytes) of
# request (docs/api.md), less room for the JSON around it and the proxy event's headers.
MAX_IMAGE_BASE64 = 6_291_456 - 64 * 1024

# How the command waits and tells the time; a test harness replaces them (no real sleeping).
SLEEP: Callable[[float], None] = time.sleep
CLOCK: Callable[[], float] = time.time

PLACEHOLDER = "placeholder: answered by the local provider emulator, not a model"
GLOBAL_OPTIONS_NOTE = "Global options (--url, --api-key, --json, --timeout, --max-wait, --no-retry) go before or after the subcommand."


def hoist_global_options(group: TyperGroup, args: list[str]) -> list[str]:
    """`args` with the group's own options found after the subcommand moved in front of it
    (`contentgen character pip.png --json` is `contentgen --json character pip.png`).

    An option the subcommand itself defines keeps its place, values of the subcommand's options
    are never taken for options, and nothing after `--` moves."""
    own: dict[str, TyperOption] = {
        name: param
        for param in group.params
        if isinstance(param, TyperOption)
        for name in (*param.opts, *param.secondary_opts)
    }
    position = 0
    while position < len(args):
        word = args[position]
        if word == "--" or not word.startswith("-"):
            break
        option = own.get(word.split("=", 1)[0])
        position += 2 if option is not None and not option.is_flag and "=" not in word else 1
    if position >= len(args) or args[position] == "--":
        return args
    command = group.commands.get(args[position])
    if command is None:
        return args
    theirs: dict[str, TyperOption] = {
        name: param
        for param in command.params
        if isinstance(param, TyperOption)
        for name in (*param.opts, *param.secondary_opts)
    }
    moved: list[str] = []
    kept: list[str] = []
    rest = args[position + 1 :]
    index = 0
    while index < len(rest):
        word = rest[index]
        if word == "--":
            kept += rest[index:]
            break
        name = word.split("=", 1)[0]
        mine = theirs.get(name)
        option = own.get(name) if mine is None else None
        takes_value = "=" not in word and (
            (option is not None and not option.is_flag)
            or (mine is not None and not mine.is_flag and not mine.count)
        )
        span = rest[index : index + (2 if takes_value else 1)]
        (moved if option is not None else kept).extend(span)
        index += len(span)
    return [*args[:position], *moved, args[position], *kept]


class GlobalOptionsGroup(TyperGroup):
    """The command group: global options are accepted after the subcommand too."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: typer's click Context
        return super().parse_args(ctx, hoist_global_options(self, list(args)))


app = typer.Typer(
    name="contentgen",
    cls=GlobalOptionsGroup,
    help="Generate stories, memes, ideas, thumbnails and videos with the contentgen API. "
    + GLOBAL_OPTIONS_NOTE,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
T = TypeVar("T")


class Interrupted(Exception):
    """Ctrl-C while following something already paid for (a video job): what to say about it."""

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message, self.detail = message, detail


class Waits:
    """Shows the client's waits: a status line with a countdown on a terminal (unless a progress
    display is live, which gets a line above it), one line on stderr otherwise."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = False
        self._pending = threading.local()

    def on_wait(self, wait: RetryWait) -> None:
        if self.console.is_terminal and not self.live:
            self._pending.text = wait
            return
        self.console.print(f"contentgen: {wait.describe()}", markup=False, soft_wrap=True)

    def sleep(self, seconds: float) -> None:
        wait: RetryWait | None = getattr(self._pending, "text", None)
        self._pending.text = None
        if wait is None:
            SLEEP(seconds)
            return
        tail = f"{wait.reason} (attempt {wait.attempt} of {wait.attempts}, {wait.method} {wait.path}; Ctrl-C to stop)"
        with self.console.status(escape(f"retrying in {format_duration(seconds)}: {tail}")) as status:
            left = seconds
            while left > 0:
                status.update(escape(f"retrying in {format_duration(left)}: {tail}"))
                step = min(1.0, left)
                SLEEP(step)
                left -= step
        self.console.print(f"contentgen: {wait.describe()}", markup=False, soft_wrap=True)


class Settings:
    def __init__(
        self,
        url: str | None,
        api_key: str | None,
        as_json: bool,
        timeout: float,
        max_wait: float,
        retry: bool,
    ) -> None:
        self.url, self.api_key, self.as_json, self.timeout = url, api_key, as_json, timeout
        self.max_wait, self.retry = max_wait, retry
        self.waits = Waits(err)
        self.placeholder = False

    def client(self) -> Client:
        return Client(
            self.url,
            self.api_key,
            timeout=self.timeout,
            max_wait=self.max_wait,
            max_retries=3 if self.retry else 0,
            sleep=self.waits.sleep,
            clock=CLOCK,
            on_wait=self.waits.on_wait,
        )


@app.callback()
def main_options(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option("--url", envvar="CONTENTGEN_API_URL", help="Base URL of the API.")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="CONTENTGEN_API_KEY", help="The API key (x-api-key).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the API's JSON answer (for scripts); errors too.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for one HTTP answer.")] = 60.0,
    max_wait: Annotated[
        float,
        typer.Option(
            "--max-wait",
            min=0,
            help="Most seconds to spend waiting between retries, in all; a longer Retry-After fails at once.",
        ),
    ] = DEFAULT_MAX_WAIT,
    no_retry: Annotated[
        bool, typer.Option("--no-retry", help="Send each request once: no retries, no waits.")
    ] = False,
) -> None:
    ctx.obj = Settings(url, api_key, as_json, timeout, max_wait, not no_retry)


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


def _error_json(message: str, code: str, exit_code: int, **extra: Any) -> str:
    detail = {"message": message, "code": code, **extra, "exit_code": exit_code}
    return json.dumps({"error": {k: v for k, v in detail.items() if v is not None}}, indent=2)


def _fail(settings: Settings, exc: ContentgenError) -> NoReturn:
    if isinstance(exc, ContentFilteredError):
        code = EXIT_FILTERED
    elif isinstance(exc, JobFailedError | WaitTimeoutError):
        code = EXIT_JOB
    elif isinstance(exc, ClientError):
        code = EXIT_CLIENT
    else:
        code = EXIT_SERVER
    hint = None
    if isinstance(exc, AuthenticationError) and not settings.api_key:
        hint = "no API key was sent: pass --api-key or set CONTENTGEN_API_KEY"
    if settings.as_json:
        retry_at = None
        if exc.retry_at is not None:
            retry_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exc.retry_at))
        print(
            _error_json(
                exc.message,
                exc.code or type(exc).__name__,
                code,
                status_code=exc.status_code,
                request_id=exc.request_id,
                errors=exc.errors or None,
                partial=exc.partial,
                retry_after=exc.retry_after,
                retry_at=retry_at,
                hint=hint,
            )
        )
    else:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        for problem in exc.errors:
            err.print(f"  {problem.get('field')}: {problem.get('message')}", markup=False, soft_wrap=True)
        if hint:
            err.print(f"  {hint}", markup=False)
    raise typer.Exit(code)


def _run(ctx: typer.Context, call: Callable[[Client], T], *, kind: str | None = None) -> T:
    """`call` with a client; an API error ends the command. `kind` ("text", "media"): note
    whether the local emulator answered, for the human output's placeholder label."""
    settings = _settings(ctx)
    try:
        with settings.client() as client:
            result = call(client)
            if kind is not None and not settings.as_json:
                settings.placeholder = client.emulated(kind)
            return result
    except ContentgenError as exc:
        _fail(settings, exc)


def _fit_dumb_terminals() -> None:
    """On `TERM=dumb` rich assumes 80 columns whatever the terminal's width (an editor's shell,
    a narrow pane); ask the terminal instead, so tables and status lines fit it."""
    if os.environ.get("TERM") != "dumb" or os.environ.get("COLUMNS"):
        return
    for console in (out, err):
        try:
            size = os.get_terminal_size(console.file.fileno())
        except (OSError, ValueError, AttributeError):
            continue
        if size.columns > 0:
            console.size = (size.columns, size.lines or 25)


def _unicode_stdout() -> bool:
    """Can standard output take any character (a UTF encoding)?"""
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    return encoding.startswith("utf")


def _tolerate_narrow_encodings() -> None:
    """On an output whose encoding cannot hold every character (a non-UTF-8 locale,
    `PYTHONIOENCODING=ascii`), write what it cannot hold as escapes instead of failing after the
    answer was paid for; `--json` output then escapes them as JSON does (`\\u673a`)."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            encoding = (stream.encoding or "").lower().replace("-", "").replace("_", "")
            if not encoding.startswith("utf"):
                stream.reconfigure(errors="backslashreplace")


def _emit_json(value: BaseModel | dict[str, Any], **extra: Any) -> None:
    data = value.model_dump(mode="json", exclude_none=True) if isinstance(value, BaseModel) else value
    data = {**data, **{k: v for k, v in extra.items() if v is not None}}
    print(json.dumps(data, indent=2, ensure_ascii=not _unicode_stdout()))


def format_usd(amount: float | None) -> str:
    """USD for people: cents for a dollar or more, four decimals below, never a false `$0.0000`."""
    if amount is None:
        return "-"
    if amount == 0:
        return "$0"
    if amount < 0.0001:
        return "<$0.0001"
    if amount < 1:
        return f"${amount:.4f}"
    return f"${amount:,.2f}"


def usage_text(model: str | None, usage: Usage | None) -> str:
    """`model · 120+340 tokens · 1 provider request · $0.0004` (what is known of it)."""
    parts = [model or (usage.model if usage else None) or "-"]
    if usage is not None:
        if usage.prompt_tokens is not None or usage.completion_tokens is not None:
            parts.append(f"{usage.prompt_tokens or 0}+{usage.completion_tokens or 0} tokens")
        if usage.provider_requests is not None:
            plural = "" if usage.provider_requests == 1 else "s"
            parts.append(f"{usage.provider_requests} provider request{plural}")
        if usage.cost_usd is not None:
            parts.append(format_usd(usage.cost_usd))
    return " · ".join(parts)


def _footer(settings: Settings, model: str | None, usage: Usage | None) -> None:
    """The model, tokens and cost, and the placeholder label when the emulator answered."""
    out.print(f"[dim]{escape(usage_text(model, usage))}[/]", soft_wrap=True)
    if settings.placeholder:
        out.print(f"[yellow]{PLACEHOLDER}[/]", soft_wrap=True)


def _read_json_file(path: Path, option: str) -> str:
    if not path.exists():
        raise typer.BadParameter(f"no such file: {path}", param_hint=option)
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a directory, not a JSON file", param_hint=option)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise typer.BadParameter(f"{path} is not UTF-8 text ({exc.reason})", param_hint=option) from exc
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint=option) from exc


def _load_character(value: str | None) -> dict[str, Any] | None:
    """`--character`: a JSON file or inline JSON; `/characters/analyze`'s whole answer works too."""
    if value is None:
        return None
    text = value if value.lstrip().startswith("{") else _read_json_file(Path(value), "--character")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--character") from exc
    if isinstance(data, dict) and isinstance(data.get("character"), dict):
        data = data["character"]
    if not isinstance(data, dict):
        raise typer.BadParameter("must be a JSON object", param_hint="--character")
    if not isinstance(data.get("visual_prompt"), str):
        raise typer.BadParameter(
            'needs "visual_prompt" (the output of `contentgen character`, or {"name", "visual_prompt"})',
            param_hint="--character",
        )
    return data


def check_output(path: Path | None, option: str = "--output") -> None:
    """Refuse, before anything is sent (and paid for), a file that cannot be written: a
    directory, or a path whose directory does not exist or cannot be written."""
    if path is None:
        return
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a directory; give a file name", param_hint=option)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise typer.BadParameter(f"directory {parent} does not exist", param_hint=option)
    if not parent.is_dir():
        raise typer.BadParameter(f"{parent} is not a directory", param_hint=option)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise typer.BadParameter(f"cannot write in {parent}", param_hint=option)


def save(data: bytes, target: Path, what: str, url: str | None = None) -> Path | None:
    """Write paid-for bytes to `target`; when that fails, to the temporary directory, saying so
    on stderr. None (after printing where the `url` is) when neither can be written."""
    try:
        target.write_bytes(data)
        return target
    except OSError as exc:
        problem = exc.strerror or str(exc)
    fallback = Path(tempfile.gettempdir()) / f"contentgen-{uuid.uuid4().hex[:8]}-{target.name or what}"
    try:
        fallback.write_bytes(data)
    except OSError as exc:
        err.print(
            f"error: could not write the {what} to {target} ({problem}) nor to {fallback} ({exc.strerror})"
            + (f"; it can be downloaded (for a while) from {url}" if url else ""),
            markup=False,
            soft_wrap=True,
        )
        return None
    err.print(
        f"warning: could not write the {what} to {target} ({problem}); saved it to {fallback} instead",
        markup=False,
        soft_wrap=True,
    )
    return fallback


def _story_table(segments: list[Any]) -> Table:
    table = Table(show_header=True, header_style="bold", expand=True, show_lines=True)
    table.add_column("#", justify="right", width=3)
    table.add_column("narration", ratio=3)
    table.add_column("visual prompt", ratio=2, style="dim")
    for segment in segments:
        table.add_row(str(segment.index), escape(segment.text), escape(segment.visual_prompt))
    return table


def _show_story(settings: Settings, story: StoryResponse) -> None:
    out.print(f"[bold]{escape(story.title)}[/]", soft_wrap=True)
    _footer(settings, story.model, story.usage)
    out.print(_story_table(story.segments))


CharacterOption = Annotated[
    str | None,
    typer.Option(
        help="A character to keep in every visual prompt: JSON file or inline JSON "
        '({"name", "visual_prompt"} or the output of `contentgen character`).'
    ),
]
LanguageOption = Annotated[
    str | None, typer.Option(help="BCP 47 tag of what viewers hear or read (e.g. es-MX).")
]
StyleOption = Annotated[str | None, typer.Option(help="Tone or genre, e.g. 'cozy mystery'.")]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Save the file here.")]


@app.command()
def story(
    ctx: typer.Context,
    prompt: str,
    segments: Annotated[int, typer.Option("--segments", "-n", min=1, max=200, help="How many segments.")] = 6,
    chunk_size: Annotated[
        int | None, typer.Option(min=1, max=25, help="Write in chunks (long stories, up to 200 segments).")
    ] = None,
    style: StyleOption = None,
    language: LanguageOption = None,
    character: CharacterOption = None,
) -> None:
    """A story split into narrated segments (POST /stories/segments, or /chunked with --chunk-size
    or more than 50 segments)."""
    look = _load_character(character)
    if chunk_size is not None or segments > 50:
        result = _run(
            ctx,
            lambda c: c.long_story(
                prompt,
                segments=segments,
                chunk_size=chunk_size,
                style=style,
                language=language,
                character=look,
            ),
            kind="text",
        )
    else:
        result = _run(
            ctx,
            lambda c: c.story(prompt, segments=segments, style=style, language=language, character=look),
            kind="text",
        )
    settings = _settings(ctx)
    _emit_json(result) if settings.as_json else _show_story(settings, result)


@app.command()
def sets(
    ctx: typer.Context,
    prompt: str,
    count: Annotated[int, typer.Option("--sets", min=1, max=10, help="How many takes.")] = 3,
    segments: Annotated[int, typer.Option("--segments", "-n", min=1, max=20, help="Segments per take.")] = 4,
    style: StyleOption = None,
    language: LanguageOption = None,
    character: CharacterOption = None,
) -> None:
    """Different takes on one story idea (POST /stories/segments/sets)."""
    look = _load_character(character)
    result: StorySetsResponse = _run(
        ctx,
        lambda c: c.story_sets(
            prompt, sets=count, segments_per_set=segments, style=style, language=language, character=look
        ),
        kind="text",
    )
    settings = _settings(ctx)
    if settings.as_json:
        return _emit_json(result)
    for story_set in result.sets:
        out.print(f"[bold]{story_set.index}. {escape(story_set.title)}[/]", soft_wrap=True)
        out.print(f"[italic]{escape(story_set.angle)}[/]", soft_wrap=True)
        out.print(_story_table(story_set.segments))
    _footer(settings, result.model, result.usage)
    return None


@app.command()
def meme(
    ctx: typer.Context,
    prompt: str,
    segments: Annotated[int, typer.Option("--segments", "-n", min=1, max=20, help="How many beats.")] = 4,
    language: LanguageOption = None,
    character: CharacterOption = None,
) -> None:
    """A meme as beats: setup, escalation, punchline (POST /memes/segments)."""
    look = _load_character(character)
    result: MemeResponse = _run(
        ctx, lambda c: c.meme(prompt, segments=segments, language=language, character=look), kind="text"
    )
    settings = _settings(ctx)
    if settings.as_json:
        return _emit_json(result)
    table = Table(expand=True, show_lines=True)
    for column in ("#", "beat", "text", "caption", "visual prompt"):
        table.add_column(column, style="dim" if column == "visual prompt" else None)
    for beat in result.segments:
        table.add_row(
            str(beat.index),
            beat.beat,
            escape(beat.text),
            f"[bold]{escape(beat.caption)}[/]",
            escape(beat.visual_prompt),
        )
    out.print(table)
    _footer(settings, result.model, result.usage)
    return None


@app.command()
def content(
    ctx: typer.Context,
    prompt: str,
    max_tokens: Annotated[
        int | None, typer.Option(min=1, max=4000, help="Cap on the answer's tokens.")
    ] = None,
    language: LanguageOption = None,
) -> None:
    """Free-form text: scripts, captions, descriptions (POST /content)."""
    result: ContentResponse = _run(
        ctx, lambda c: c.content(prompt, max_tokens=max_tokens, language=language), kind="text"
    )
    settings = _settings(ctx)
    if settings.as_json:
        return _emit_json(result)
    print(result.content)
    note = " (truncated at max_tokens)" if result.truncated else ""
    err.print(f"[dim]{escape(usage_text(result.model, result.usage))}{note}[/]", soft_wrap=True)
    if settings.placeholder:
        err.print(f"[yellow]{PLACEHOLDER}[/]", soft_wrap=True)
    return None


@app.command()
def ideas(
    ctx: typer.Context,
    niche: str,
    count: Annotated[int, typer.Option("--count", "-n", min=1, max=20, help="How many ideas.")] = 5,
    region: Annotated[str | None, typer.Option(help="Where the audience is, e.g. 'Brazil'.")] = None,
    language: LanguageOption = None,
) -> None:
    """Video ideas for a niche, this week (POST /ideas/trending)."""
    result: IdeasResponse = _run(
        ctx, lambda c: c.ideas(niche, count=count, region=region, language=language), kind="text"
    )
    settings = _settings(ctx)
    if settings.as_json:
        return _emit_json(result)
    table = Table(expand=True, show_lines=True)
    for column in ("idea", "hook", "why now", "format"):
        table.add_column(column)
    for idea in result.ideas:
        table.add_row(f"[bold]{escape(idea.title)}[/]", escape(idea.hook), escape(idea.why_now), idea.format)
    out.print(table)
    _footer(settings, result.model, result.usage)
    return None


@app.command()
def character(
    ctx: typer.Context,
    image: Annotated[
        str, typer.Argument(help="An https:// image URL, or a local PNG/JPEG/WebP file (sent as base64).")
    ],
) -> None:
    """Describe the character in an image, for reuse with --character (POST /characters/analyze)."""
    if image.startswith("https://"):
        result: CharacterResponse = _run(ctx, lambda c: c.analyze_character(image_url=image), kind="text")
    else:
        path = Path(image)
        if not path.is_file():
            reason = "a directory" if path.is_dir() else "no such file"
            raise typer.BadParameter(
                f"{image}: {reason} (give an https:// URL or an image file)", param_hint="IMAGE"
            )
        try:
            encoded = base64.b64encode(path.read_bytes()).decode()
        except OSError as exc:
            raise typer.BadParameter(f"cannot read {image}: {exc.strerror}", param_hint="IMAGE") from exc
        if len(encoded) > MAX_IMAGE_BASE64:
            raise typer.BadParameter(
                f"{image} is {path.stat().st_size / 1_000_000:.1f} MB: over HTTP the API takes at most "
                f"6 MB of request, so an image file of at most {MAX_IMAGE_BASE64 * 3 // 4 / 1_000_000:.1f} MB "
                "(base64 adds a third); give a smaller file or an https:// URL",
                param_hint="IMAGE",
            )
        result = _run(ctx, lambda c: c.analyze_character(image_base64=encoded), kind="text")
    settings = _settings(ctx)
    if settings.as_json:
        return _emit_json(result)
    sheet = result.character
    table = Table.grid(padding=(0, 2))
    for label, value in (
        ("name", sheet.name or "-"),
        ("appearance", sheet.appearance),
        ("clothing", sheet.clothing),
        ("personality", ", ".join(sheet.personality_cues or [])),
        ("art style", sheet.art_style),
        ("visual prompt", sheet.visual_prompt),
    ):
        table.add_row(f"[bold]{label}[/]", escape(value or "-"))
    out.print(table)
    _footer(settings, result.model, result.usage)
    return None


@app.command()
def thumbnail(
    ctx: typer.Context,
    prompt: str,
    aspect_ratio: Annotated[str, typer.Option("--aspect-ratio", "-r", help="16:9, 9:16 or 1:1.")] = "9:16",
    character: CharacterOption = None,
    output: OutputOption = None,
) -> None:
    """A thumbnail image (POST /thumbnails); --output saves it."""
    look = _load_character(character)
    check_output(output)

    def call(client: Client) -> tuple[Any, bytes | None]:
        result = client.thumbnail(prompt, aspect_ratio=aspect_ratio, character=look)
        return result, client.download(result.image_url) if output is not None else None

    result, data = _run(ctx, call, kind="media")
    saved = save(data, output, "image", result.image_url) if output is not None and data is not None else None
    settings = _settings(ctx)
    if settings.as_json:
        _emit_json(result, saved_to=str(saved) if saved else None)
    else:
        out.print(
            f"thumbnail {result.aspect_ratio} {result.content_type} by {result.model}: "
            f"{'saved to ' + str(saved) if saved else result.image_url}",
            markup=False,
            soft_wrap=True,
        )
        if settings.placeholder:
            out.print(f"[yellow]{PLACEHOLDER}[/]", soft_wrap=True)
    if output is not None and saved != output:
        raise typer.Exit(EXIT_UNEXPECTED)
    return


@dataclass(frozen=True)
class _Followed:
    """What `video` and `short` differ in when they start a paid job and (with --wait) follow it."""

    noun: str  # in messages: "video job", "short"
    label: str  # the progress bar's label and `save`'s fallback file name: "video", "short"
    id_field: str  # the id's field on the accepted and the status models: "job_id", "short_id"
    status_command: str  # the command that checks on it later: "video-status", "short-status"
    wait_for: Callable[[Client], Callable[..., Any]]  # the client's wait_for_video / wait_for_short
    progress_text: Callable[[Any], str]  # a polled status, as the progress bar's text
    ready_text: Callable[[Any], str]  # the finished status's line, before ": <where it is>"


_VIDEO = _Followed(
    noun="video job",
    label="video",
    id_field="job_id",
    status_command="video-status",
    wait_for=lambda client: client.wait_for_video,
    progress_text=lambda s: f"{s.status}{f' / {s.step}' if s.step else ''} ({s.checks} checks)",
    ready_text=lambda r: f"video ready {r.job_id}",
)

_SHORT = _Followed(
    noun="short",
    label="short",
    id_field="short_id",
    status_command="short-status",
    wait_for=lambda client: client.wait_for_short,
    progress_text=lambda s: (
        f"{s.step or s.status}"
        f"{f' {s.segments_done}/{s.segments_total} segments' if s.segments_total else ''}"
        f" ({s.usage.cost_usd or 0:.4f} USD)"
    ),
    ready_text=lambda r: f"short ready {r.short_id} ({r.duration_s} s, {r.usage.cost_usd} USD)",
)


def _watch(
    settings: Settings, kind: _Followed, client: Client, job_id: str, status: str, timeout: float, poll: float
) -> Any:
    """Poll a started `kind` until it is done, with a progress bar of its steps on stderr (none
    with --json); the client's retry waits print above the bar meanwhile."""
    with Progress(
        SpinnerColumn(),
        TextColumn(f"[bold]{kind.label}[/] {{task.fields[job]}}"),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=err,
        transient=settings.as_json,
        disable=settings.as_json,
    ) as progress:
        settings.waits.live = not settings.as_json
        task = progress.add_task(kind.label, total=None, job=job_id, status=status)
        try:
            done = kind.wait_for(client)(
                job_id,
                timeout=timeout,
                poll_interval=poll,
                on_status=lambda s: progress.update(
                    task, total=1, completed=s.progress, status=kind.progress_text(s)
                ),
            )
        finally:
            settings.waits.live = False
        progress.update(task, total=1, completed=1, status="succeeded")
    return done


def _start_and_follow(
    ctx: typer.Context,
    kind: _Followed,
    start: Callable[[Client], Any],
    *,
    wait: bool,
    output: Path | None,
    timeout: float,
    poll: float,
) -> None:
    """Run `start` (POST /videos or /shorts) and print what was accepted; with `wait` (or an
    `output`, which implies it) follow it to the end with `_watch`, save the finished MP4 to
    `output` and print where it is. Ctrl-C while following says how to check on it later (it goes
    on and is paid for); an `output` that could not be written exits EXIT_UNEXPECTED."""
    settings = _settings(ctx)
    check_output(output)

    def call(client: Client) -> tuple[Any, bytes | None]:
        accepted = start(client)
        if not (wait or output is not None):
            return accepted, None
        job_id = getattr(accepted, kind.id_field)
        try:
            status = _watch(settings, kind, client, job_id, accepted.status, timeout, poll)
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted: {kind.noun} {job_id} goes on (and is paid for); check it with: "
                f"contentgen {kind.status_command} {job_id}",
                job_id=job_id,
            ) from None
        data = client.download(status.video_url) if output is not None and status.video_url else None
        return status, data

    result, data = _run(ctx, call, kind="media")
    saved = (
        save(data, output, kind.label, result.video_url) if output is not None and data is not None else None
    )
    if settings.as_json:
        _emit_json(result, saved_to=str(saved) if saved else None)
    elif result.status == "succeeded":
        where = f"saved to {saved}" if saved else result.video_url
        out.print(f"{kind.ready_text(result)}: {where}", markup=False, soft_wrap=True)
    else:
        job_id = getattr(result, kind.id_field)
        out.print(
            f"{kind.noun} {job_id} {result.status}; check with: contentgen {kind.status_command} {job_id}",
            markup=False,
            soft_wrap=True,
        )
    if not settings.as_json and settings.placeholder:
        out.print(f"[yellow]{PLACEHOLDER}[/]", soft_wrap=True)
    if output is not None and saved != output:
        raise typer.Exit(EXIT_UNEXPECTED)


@app.command()
def video(
    ctx: typer.Context,
    prompt: str,
    aspect_ratio: Annotated[str, typer.Option("--aspect-ratio", "-r", help="16:9 or 9:16.")] = "9:16",
    duration: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Seconds. The server's video model decides which it makes (its 422 lists them; "
            "openapi.json shows them); unset: the API's default.",
        ),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the job, with a progress display.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Save the clip here (implies --wait).")
    ] = None,
    timeout: Annotated[float, typer.Option("--wait-timeout", help="Seconds to wait for the job.")] = 1200.0,
    poll: Annotated[float, typer.Option(help="Seconds between status checks.")] = 2.0,
) -> None:
    """Start a video job (POST /videos); --wait polls GET /videos/{id} until it is done."""
    _start_and_follow(
        ctx,
        _VIDEO,
        lambda client: client.video(prompt, aspect_ratio=aspect_ratio, duration_seconds=duration),
        wait=wait,
        output=output,
        timeout=timeout,
        poll=poll,
    )


@app.command()
def short(
    ctx: typer.Context,
    prompt: str,
    segments: Annotated[int | None, typer.Option("--segments", "-n", min=3, max=10, help="3 to 10.")] = None,
    aspect_ratio: Annotated[str, typer.Option("--aspect-ratio", "-r", help="9:16, 16:9 or 1:1.")] = "9:16",
    voice: Annotated[str | None, typer.Option(help="A catalog voice (e.g. Kore).")] = None,
    style: Annotated[str | None, typer.Option(help="Tone or genre.")] = None,
    language: Annotated[str | None, typer.Option(help="BCP 47 tag, e.g. en, es-MX.")] = None,
    clips: Annotated[
        bool,
        typer.Option("--clips", help="A generated video clip per segment where the model and budget allow."),
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for the short, with a progress bar of its steps.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Save the MP4 here (implies --wait).")
    ] = None,
    timeout: Annotated[float, typer.Option("--wait-timeout", help="Seconds to wait for the short.")] = 1800.0,
    poll: Annotated[float, typer.Option(help="Seconds between status checks.")] = 2.0,
) -> None:
    """Make a narrated, captioned short (POST /shorts); --wait follows GET /shorts/{id} step by step."""
    _start_and_follow(
        ctx,
        _SHORT,
        lambda client: client.short(
            prompt,
            segment_count=segments,
            aspect_ratio=aspect_ratio,
            voice=voice,
            style=style,
            language=language,
            clips=clips or None,
        ),
        wait=wait,
        output=output,
        timeout=timeout,
        poll=poll,
    )


@app.command("short-status")
def short_status(
    ctx: typer.Context,
    short_id: str,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Save the MP4 here when the short is done.")
    ] = None,
) -> None:
    """Show a short (GET /shorts/{id}): status, step, segments, cost; --output saves the finished MP4."""
    settings = _settings(ctx)
    check_output(output)

    def call(client: Client) -> tuple[Any, bytes | None]:
        status = client.get_short(short_id)
        data = client.download(status.video_url) if output is not None and status.video_url else None
        return status, data

    result, data = _run(ctx, call, kind="media")
    saved = save(data, output, "short", result.video_url) if output is not None and data is not None else None
    if settings.as_json:
        _emit_json(result, saved_to=str(saved) if saved else None)
    else:
        segments_note = (
            f", {result.segments_done}/{result.segments_total} segments" if result.segments_total else ""
        )
        line = f"short {result.short_id} {result.status} ({result.step or '-'}{segments_note}, {result.usage.cost_usd or 0} USD)"
        if result.video_url:
            line += f": {saved or result.video_url}"
        if result.error:
            line += f": {result.error}"
        out.print(line, markup=False, soft_wrap=True)
    if output is not None and result.video_url and saved != output:
        raise typer.Exit(EXIT_UNEXPECTED)


@app.command("video-status")
def video_status(
    ctx: typer.Context,
    job_id: str,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Save the clip here once the job has succeeded.")
    ] = None,
) -> None:
    """A video job's status (GET /videos/{job_id}); --output downloads the clip when it is ready."""
    settings = _settings(ctx)
    check_output(output)

    def call(client: Client) -> tuple[VideoJobStatus, bytes | None]:
        status = client.video_status(job_id)
        ready = output is not None and status.status == "succeeded" and status.video_url
        return status, client.download(status.video_url) if ready and status.video_url else None

    result, data = _run(ctx, call, kind="media")
    saved = save(data, output, "video", result.video_url) if output is not None and data is not None else None
    if settings.as_json:
        _emit_json(result, saved_to=str(saved) if saved else None)
    else:
        detail = result.video_url or result.error or f"{result.checks} checks so far"
        if saved is not None:
            detail = f"saved to {saved}"
        out.print(f"{result.job_id} {result.status}: {detail}", markup=False, soft_wrap=True)
        if result.usage is not None and result.usage.cost_usd is not None:
            out.print(f"[dim]{escape(usage_text(None, result.usage))}[/]", soft_wrap=True)
        if settings.placeholder:
            out.print(f"[yellow]{PLACEHOLDER}[/]", soft_wrap=True)
    if output is not None and data is None:
        if not settings.as_json:
            reason = "it failed" if result.status == "failed" else "it has not finished yet"
            err.print(f"nothing saved: {reason}; try again later", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_JOB)
    if output is not None and saved != output:
        raise typer.Exit(EXIT_UNEXPECTED)
    return


@app.command()
def result(ctx: typer.Context, request_id: str) -> None:
    """The stored outcome of an event-triggered generation (GET /results/{request_id})."""
    stored = _run(ctx, lambda c: c.result(request_id))
    if _settings(ctx).as_json:
        return _emit_json(stored)
    colour = "green" if stored.status == "succeeded" else "red"
    out.print(
        f"[bold]{escape(stored.request_id)}[/] {escape(stored.route)}: [{colour}]{stored.status}[/] ({stored.status_code})",
        soft_wrap=True,
    )
    out.print_json(data=stored.result if stored.result is not None else stored.error)
    return None


@app.command()
def usage(ctx: typer.Context) -> None:
    """The calling key's spend today and over 30 days, and its daily budget (GET /usage)."""
    report: UsageReport = _run(ctx, lambda c: c.usage())
    if _settings(ctx).as_json:
        return _emit_json(report)
    today, month = report.today, report.last_30_days
    now = CLOCK()
    to_midnight = 86400 - now % 86400
    out.print(f"key {report.api_key_id}, {report.day} (UTC)", markup=False, soft_wrap=True)
    out.print(
        f"today: {format_usd(today.cost_usd)} of a {format_usd(report.daily_budget_usd)} daily budget, "
        f"{format_usd(report.remaining_today_usd)} left (the day ends at 00:00 UTC, in "
        f"{format_duration(to_midnight)})",
        markup=False,
        soft_wrap=True,
    )
    # Every name and number whole (the names are what docs/operations.md and the logs call the
    # functions): the headers wrap first, and the functions have a narrow table of their own.
    table = Table(expand=False)
    for number, column in enumerate(("", "requests", "provider requests", "tokens in+out", "cost")):
        table.add_column(column, justify="right" if number else "left", overflow="fold")
    for label, day in (("today", today), ("last 30 days", month)):
        table.add_row(
            label,
            str(day.requests),
            str(day.provider_requests),
            f"{day.prompt_tokens}+{day.completion_tokens}",
            format_usd(day.cost_usd),
        )
    out.print(table)
    if today.functions:
        by_function = Table(expand=False, title="today, by function", title_justify="left")
        by_function.add_column("function", overflow="fold")
        by_function.add_column("requests", justify="right", overflow="fold")
        by_function.add_column("cost", justify="right", overflow="fold")
        for name, spend in today.functions.items():
            by_function.add_row(name, str(spend.requests), format_usd(spend.cost_usd))
        out.print(by_function)
    return None


@app.command()
def health(
    ctx: typer.Context,
    deep: Annotated[
        bool, typer.Option("--deep", help="Check SSM and each provider (needs the key).")
    ] = False,
) -> None:
    """Is the API up (GET /health)."""
    report = _run(ctx, lambda c: c.health(deep=deep))
    if _settings(ctx).as_json:
        return _emit_json(report)
    out.print(f"[bold green]{escape(report.status)}[/] version {report.version} ({report.function_version})")
    for name, who in (report.providers or {}).items():
        out.print(f"  {name}: {who}", markup=False)
    for name, check in (report.checks or {}).items():
        out.print(f"  {name}: {check.get('status') if isinstance(check, dict) else check}", markup=False)
    return None


@app.command()
def storyboard(
    ctx: typer.Context,
    prompt: str,
    segments: Annotated[int, typer.Option("--segments", "-n", min=1, max=50, help="How many segments.")] = 6,
    aspect_ratio: Annotated[str, typer.Option("--aspect-ratio", "-r", help="16:9, 9:16 or 1:1.")] = "9:16",
    style: StyleOption = None,
    language: LanguageOption = None,
    character: CharacterOption = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path(
        "storyboard.html"
    ),
    concurrency: Annotated[
        int, typer.Option(min=1, max=10, help="Thumbnails generated at once.")
    ] = DEFAULT_CONCURRENCY,
) -> None:
    """A story and a thumbnail per segment, as one self-contained HTML page."""
    settings = _settings(ctx)
    look = _load_character(character)
    check_output(output)

    def call(client: Client) -> Any:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            console=err,
            disable=settings.as_json,
        ) as progress:
            settings.waits.live = not settings.as_json
            task = progress.add_task("thumbnails", total=segments)

            def advance(_: Frame) -> None:
                progress.advance(task)

            try:
                return build_storyboard(
                    client,
                    prompt,
                    segments=segments,
                    aspect_ratio=aspect_ratio,
                    style=style,
                    language=language,
                    character=look,
                    concurrency=concurrency,
                    on_frame=advance,
                    placeholder=client.emulated("text") or client.emulated("media"),
                )
            finally:
                settings.waits.live = False

    board = _run(ctx, call)
    saved = save(board.html().encode(), output, "storyboard")
    if settings.as_json:
        _emit_json(
            {
                "output": str(saved) if saved else None,
                "title": board.story.title,
                "segments": len(board.frames),
            }
        )
    else:
        out.print(
            f"{board.story.title}: {len(board.frames)} segments -> {saved}", markup=False, soft_wrap=True
        )
        if board.placeholder:
            out.print(f"[yellow]{PLACEHOLDER} (the page says so too)[/]", soft_wrap=True)
    if saved != output:
        raise typer.Exit(EXIT_UNEXPECTED)
    return


def _wants_json(args: list[str]) -> bool:
    return "--json" in (args[: args.index("--")] if "--" in args else args)


def main(args: list[str] | None = None) -> None:
    """Console entry point (`contentgen`): no traceback for a usage error or an unexpected
    failure, one message (JSON with `--json`), and the exit codes of the module docstring.
    `CONTENTGEN_DEBUG=1` shows the traceback of an unexpected failure."""
    argv = list(sys.argv[1:] if args is None else args)
    as_json = _wants_json(argv)
    _tolerate_narrow_encodings()
    _fit_dumb_terminals()
    try:
        code = app(args=argv, prog_name="contentgen", standalone_mode=False)
    except typer.TyperException as exc:  # a usage error: a bad option or argument, a missing file
        if as_json:
            print(_error_json(exc.format_message(), "usage_error", exc.exit_code))
        elif hasattr(exc, "show"):
            exc.show()
        else:
            err.print(f"error: {exc.format_message()}", markup=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Interrupted as exc:
        _interrupted(as_json, exc.message, **exc.detail)
    except (KeyboardInterrupt, typer.Abort):
        _interrupted(as_json, "interrupted")
    except Exception as exc:
        if os.environ.get("CONTENTGEN_DEBUG"):
            raise
        message = f"unexpected failure: {type(exc).__name__}: {exc}"
        if as_json:
            print(_error_json(message, "unexpected", EXIT_UNEXPECTED))
        else:
            err.print(f"error: {message} (CONTENTGEN_DEBUG=1 shows where)", markup=False, soft_wrap=True)
        sys.exit(EXIT_UNEXPECTED)
    if code == EXIT_INTERRUPTED:  # typer answers Ctrl-C with its exit code, saying nothing
        _interrupted(as_json, "interrupted")
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def _interrupted(as_json: bool, message: str, **detail: Any) -> NoReturn:
    """Ctrl-C: one line (JSON with `--json`), no traceback, exit 130."""
    if as_json:
        print(_error_json(message, "interrupted", EXIT_INTERRUPTED, **detail))
    else:
        err.print(message, markup=False, soft_wrap=True)
    sys.exit(EXIT_INTERRUPTED)
