"""The `contentgen` command: one subcommand per API route, plus `storyboard`.

Human-readable output by default, `--json` for scripts (the API's answer as it is; an error as
`{"error": {...}}`). Exit codes:

| code | meaning |
| --- | --- |
| 0 | success |
| 1 | unexpected failure in the command itself |
| 2 | usage error (bad option or argument; nothing was sent) |
| 3 | the API refused the request (4xx: invalid, unauthorised, not found, conflict, rate limited) |
| 4 | the provider or service failed (5xx), or the API could not be reached |
| 5 | the model or safety filter declined (422 `content_filtered`) |
| 6 | a video job failed, or did not finish within `--timeout` |

The API's URL and key come from `--url` / `--api-key` or `CONTENTGEN_API_URL` / `CONTENTGEN_API_KEY`.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from contentgen_client.client import Client
from contentgen_client.errors import (
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
)
from contentgen_client.storyboard import DEFAULT_CONCURRENCY, Frame, build_storyboard

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, EXIT_CLIENT, EXIT_SERVER, EXIT_FILTERED, EXIT_JOB = range(7)

app = typer.Typer(
    name="contentgen",
    help="Generate stories, memes, ideas, thumbnails and videos with the contentgen API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
T = TypeVar("T")


class Settings:
    def __init__(self, url: str | None, api_key: str | None, as_json: bool, timeout: float) -> None:
        self.url, self.api_key, self.as_json, self.timeout = url, api_key, as_json, timeout

    def client(self) -> Client:
        return Client(self.url, self.api_key, timeout=self.timeout)


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
        bool, typer.Option("--json", help="Print the API's JSON answer (for scripts).")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for one HTTP answer.")] = 60.0,
) -> None:
    ctx.obj = Settings(url, api_key, as_json, timeout)


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


def _fail(settings: Settings, exc: ContentgenError) -> NoReturn:
    if isinstance(exc, ContentFilteredError):
        code = EXIT_FILTERED
    elif isinstance(exc, JobFailedError | WaitTimeoutError):
        code = EXIT_JOB
    elif isinstance(exc, ClientError):
        code = EXIT_CLIENT
    else:
        code = EXIT_SERVER
    if settings.as_json:
        detail = {
            "message": exc.message,
            "code": exc.code,
            "status_code": exc.status_code,
            "request_id": exc.request_id,
            "errors": exc.errors or None,
            "partial": exc.partial,
            "exit_code": code,
        }
        print(json.dumps({"error": {k: v for k, v in detail.items() if v is not None}}, indent=2))
    else:
        err.print(f"[bold red]error:[/] {exc}")
        for problem in exc.errors:
            err.print(f"  {problem.get('field')}: {problem.get('message')}")
    raise typer.Exit(code)


def _run(ctx: typer.Context, call: Callable[[Client], T]) -> T:
    settings = _settings(ctx)
    try:
        with settings.client() as client:
            return call(client)
    except ContentgenError as exc:
        _fail(settings, exc)


def _emit_json(value: BaseModel | dict[str, Any]) -> None:
    data = value.model_dump(mode="json", exclude_none=True) if isinstance(value, BaseModel) else value
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _usage_line(usage: Usage | None) -> str:
    if usage is None:
        return ""
    parts = [f"{usage.prompt_tokens or 0}+{usage.completion_tokens or 0} tokens"]
    if usage.provider_requests is not None:
        parts.append(f"{usage.provider_requests} provider requests")
    if usage.cost_usd is not None:
        parts.append(f"${usage.cost_usd:.4f}")
    return " · " + ", ".join(parts)


def _load_character(value: str | None) -> dict[str, Any] | None:
    """`--character`: a JSON file or inline JSON; `/characters/analyze`'s whole answer works too."""
    if value is None:
        return None
    text = value if value.lstrip().startswith("{") else Path(value).read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--character") from exc
    if isinstance(data, dict) and isinstance(data.get("character"), dict):
        data = data["character"]
    if not isinstance(data, dict):
        raise typer.BadParameter("must be a JSON object", param_hint="--character")
    return data


def _story_table(segments: list[Any]) -> Table:
    table = Table(show_header=True, header_style="bold", expand=True, show_lines=True)
    table.add_column("#", justify="right", width=3)
    table.add_column("narration", ratio=3)
    table.add_column("visual prompt", ratio=2, style="dim")
    for segment in segments:
        table.add_row(str(segment.index), segment.text, segment.visual_prompt)
    return table


def _show_story(story: StoryResponse) -> None:
    out.print(Panel.fit(f"[bold]{story.title}[/]", subtitle=f"{story.model}{_usage_line(story.usage)}"))
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
        )
    else:
        result = _run(
            ctx, lambda c: c.story(prompt, segments=segments, style=style, language=language, character=look)
        )
    _emit_json(result) if _settings(ctx).as_json else _show_story(result)


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
    )
    if _settings(ctx).as_json:
        return _emit_json(result)
    for story_set in result.sets:
        out.print(Panel.fit(f"[bold]{story_set.index}. {story_set.title}[/]", subtitle=story_set.angle))
        out.print(_story_table(story_set.segments))
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
        ctx, lambda c: c.meme(prompt, segments=segments, language=language, character=look)
    )
    if _settings(ctx).as_json:
        return _emit_json(result)
    table = Table(expand=True, show_lines=True, caption=f"{result.model}{_usage_line(result.usage)}")
    for column in ("#", "beat", "text", "caption", "visual prompt"):
        table.add_column(column, style="dim" if column == "visual prompt" else None)
    for beat in result.segments:
        table.add_row(str(beat.index), beat.beat, beat.text, f"[bold]{beat.caption}[/]", beat.visual_prompt)
    out.print(table)
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
    result: ContentResponse = _run(ctx, lambda c: c.content(prompt, max_tokens=max_tokens, language=language))
    if _settings(ctx).as_json:
        return _emit_json(result)
    out.print(result.content)
    note = " (truncated at max_tokens)" if result.truncated else ""
    err.print(f"[dim]{result.model}{note}{_usage_line(result.usage)}[/]")
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
    result: IdeasResponse = _run(ctx, lambda c: c.ideas(niche, count=count, region=region, language=language))
    if _settings(ctx).as_json:
        return _emit_json(result)
    table = Table(expand=True, show_lines=True, caption=f"{result.model}{_usage_line(result.usage)}")
    for column in ("idea", "hook", "why now", "format"):
        table.add_column(column)
    for idea in result.ideas:
        table.add_row(f"[bold]{idea.title}[/]", idea.hook, idea.why_now, idea.format)
    out.print(table)
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
        result: CharacterResponse = _run(ctx, lambda c: c.analyze_character(image_url=image))
    else:
        path = Path(image)
        if not path.is_file():
            raise typer.BadParameter("not an https:// URL or a readable file", param_hint="IMAGE")
        encoded = base64.b64encode(path.read_bytes()).decode()
        result = _run(ctx, lambda c: c.analyze_character(image_base64=encoded))
    if _settings(ctx).as_json:
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
        table.add_row(f"[bold]{label}[/]", value or "-")
    out.print(Panel(table, title="character", subtitle=result.model))
    return None


@app.command()
def thumbnail(
    ctx: typer.Context,
    prompt: str,
    aspect_ratio: Annotated[str, typer.Option("--aspect-ratio", "-r", help="16:9, 9:16 or 1:1.")] = "9:16",
    character: CharacterOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Save the image here.")] = None,
) -> None:
    """A thumbnail image (POST /thumbnails); --output saves it."""
    look = _load_character(character)

    def call(client: Client) -> Any:
        result = client.thumbnail(prompt, aspect_ratio=aspect_ratio, character=look)
        if output is not None:
            output.write_bytes(client.download(result.image_url))
        return result

    result = _run(ctx, call)
    if _settings(ctx).as_json:
        return _emit_json(result)
    where = f"saved to {output}" if output is not None else result.image_url
    out.print(f"[bold]thumbnail[/] {result.aspect_ratio} {result.content_type} by {result.model}: {where}")
    return None


@app.command()
def video(
    ctx: typer.Context,
    prompt: str,
    aspect_ratio: Annotated[str, typer.Option("--aspect-ratio", "-r", help="16:9 or 9:16.")] = "9:16",
    duration: Annotated[int | None, typer.Option(min=4, max=8, help="Seconds, 4 to 8.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the job, with a progress display.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Save the clip here (implies --wait).")
    ] = None,
    timeout: Annotated[float, typer.Option("--wait-timeout", help="Seconds to wait for the job.")] = 1200.0,
    poll: Annotated[float, typer.Option(help="Seconds between status checks.")] = 2.0,
) -> None:
    """Start a video job (POST /videos); --wait polls GET /videos/{id} until it is done."""
    settings = _settings(ctx)

    def call(client: Client) -> Any:
        job = client.video(prompt, aspect_ratio=aspect_ratio, duration_seconds=duration)
        if not (wait or output is not None):
            return job
        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]video[/] {task.fields[job]}"),
            BarColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=err,
            transient=settings.as_json,
            disable=settings.as_json,
        ) as progress:
            task = progress.add_task("video", total=None, job=job.job_id, status=job.status)
            status = client.wait_for_video(
                job.job_id,
                timeout=timeout,
                poll_interval=poll,
                on_status=lambda s: progress.update(
                    task,
                    total=1,
                    completed=s.progress,
                    status=f"{s.status}{f' / {s.step}' if s.step else ''} ({s.checks} checks)",
                ),
            )
            progress.update(task, total=1, completed=1, status="succeeded")
        if output is not None and status.video_url:
            output.write_bytes(client.download(status.video_url))
        return status

    result = _run(ctx, call)
    if settings.as_json:
        return _emit_json(result)
    if result.status == "succeeded":
        where = f"saved to {output}" if output is not None else result.video_url
        out.print(f"[bold green]video ready[/] {result.job_id}: {where}")
    else:
        out.print(
            f"[bold]video job[/] {result.job_id} {result.status}; check with: contentgen video-status {result.job_id}"
        )
    return None


@app.command("video-status")
def video_status(ctx: typer.Context, job_id: str) -> None:
    """A video job's status (GET /videos/{job_id})."""
    result = _run(ctx, lambda c: c.video_status(job_id))
    if _settings(ctx).as_json:
        return _emit_json(result)
    detail = result.video_url or result.error or f"{result.checks} checks so far"
    out.print(f"[bold]{result.job_id}[/] {result.status}: {detail}")
    return None


@app.command()
def result(ctx: typer.Context, request_id: str) -> None:
    """The stored outcome of an event-triggered generation (GET /results/{request_id})."""
    stored = _run(ctx, lambda c: c.result(request_id))
    if _settings(ctx).as_json:
        return _emit_json(stored)
    colour = "green" if stored.status == "succeeded" else "red"
    out.print(
        f"[bold]{stored.request_id}[/] {stored.route}: [{colour}]{stored.status}[/] ({stored.status_code})"
    )
    out.print_json(data=stored.result if stored.result is not None else stored.error)
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
    out.print(f"[bold green]{report.status}[/] version {report.version} ({report.function_version})")
    for name, check in (report.checks or {}).items():
        out.print(f"  {name}: {check.get('status') if isinstance(check, dict) else check}")
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

    def call(client: Client) -> Any:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            console=err,
            disable=settings.as_json,
        ) as progress:
            task = progress.add_task("thumbnails", total=segments)

            def advance(_: Frame) -> None:
                progress.advance(task)

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
            )

    board = _run(ctx, call)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(board.html(), encoding="utf-8")
    if settings.as_json:
        return _emit_json({"output": str(output), "title": board.story.title, "segments": len(board.frames)})
    out.print(f"[bold]{board.story.title}[/]: {len(board.frames)} segments -> {output}")
    return None


def main() -> None:
    """Console entry point (`contentgen`)."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
