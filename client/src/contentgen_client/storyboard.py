"""A storyboard: one self-contained HTML page of a story, each segment's narration beside a
thumbnail generated from its `visual_prompt`.

Thumbnails are requested concurrently, at most `concurrency` at a time (the API's usage plan allows
10 requests/s per key with bursts of 20; the client waits out any 429 it still gets), and inlined
as data URLs, so the page opens anywhere without the presigned URLs (which expire).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from contentgen_client.client import CharacterInput, Client
from contentgen_client.models import Character, Segment, StoryResponse

DEFAULT_CONCURRENCY = 4
RATIOS = {"9:16": "9 / 16", "16:9": "16 / 9", "1:1": "1 / 1"}


@dataclass(frozen=True)
class Frame:
    """A segment with its thumbnail (`data:` URL) and the model that drew it."""

    segment: Segment
    image: str
    image_model: str


@dataclass(frozen=True)
class Storyboard:
    prompt: str
    aspect_ratio: str
    story: StoryResponse
    frames: list[Frame]
    options: dict[str, Any]
    # True when the local provider emulator drew and wrote it: the page says it is a placeholder.
    placeholder: bool = False
    # The finished short (a `data:video/mp4;base64,...` URL, or a URL), shown in a <video> beside
    # the segments; None for a storyboard without one.
    video: str | None = None

    def html(self) -> str:
        return render_html(self)


def build_storyboard(
    client: Client,
    prompt: str,
    *,
    segments: int = 6,
    aspect_ratio: str = "9:16",
    style: str | None = None,
    language: str | None = None,
    character: CharacterInput = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_frame: Callable[[Frame], None] | None = None,
    placeholder: bool | None = None,
) -> Storyboard:
    """The story for `prompt`, then one thumbnail per segment (bounded concurrency).

    `placeholder`: whether the answers are the local emulator's (None: ask the client, which
    asks a local API's `/health`); the page then says so. Raises the client's errors (a failing
    thumbnail fails the storyboard: nothing half-drawn)."""
    story = client.story(prompt, segments=segments, style=style, language=language, character=character)

    def draw(segment: Segment) -> Frame:
        thumbnail = client.thumbnail(segment.visual_prompt, aspect_ratio=aspect_ratio)
        data = client.download(thumbnail.image_url)
        image = f"data:{thumbnail.content_type};base64,{base64.b64encode(data).decode()}"
        frame = Frame(segment=segment, image=image, image_model=thumbnail.model)
        if on_frame is not None:
            on_frame(frame)
        return frame

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="storyboard") as pool:
        frames = list(pool.map(draw, story.segments))
    options = {"segments": segments, "aspect ratio": aspect_ratio, "style": style, "language": language}
    if isinstance(character, Character):
        options["character"] = character.visual_prompt
    elif character is not None:
        options["character"] = character.get("visual_prompt")
    if placeholder is None:
        placeholder = client.emulated("text") or client.emulated("media")
    return Storyboard(
        prompt=prompt,
        aspect_ratio=aspect_ratio,
        story=story,
        frames=frames,
        options=options,
        placeholder=placeholder,
    )


def build_short_storyboard(
    client: Client,
    prompt: str,
    *,
    segments: int = 6,
    aspect_ratio: str = "9:16",
    style: str | None = None,
    language: str | None = None,
    voice: str | None = None,
    timeout: float = 1800.0,
    poll_interval: float = 2.0,
) -> Storyboard:
    """Make a short (POST /shorts, waited for), then the page: its finished MP4 in a <video>
    beside each segment's image and narration (the short's own parts, inlined)."""
    accepted = client.short(
        prompt, segment_count=segments, aspect_ratio=aspect_ratio, style=style, language=language, voice=voice
    )
    done = client.wait_for_short(accepted.short_id, timeout=timeout, poll_interval=poll_interval)
    story_data = done.parts.story or {}
    story = StoryResponse.model_validate(
        {
            "title": story_data.get("title", ""),
            "segments": story_data.get("segments", []),
            "model": story_data.get("model", ""),
        }
    )
    frames = []
    for segment, url in zip(story.segments, done.parts.images, strict=False):
        data = client.download(url) if url else b""
        frames.append(
            Frame(
                segment=segment,
                image=f"data:image/png;base64,{base64.b64encode(data).decode()}",
                image_model="",
            )
        )
    video = client.download(done.video_url) if done.video_url else b""
    options = {
        "segments": segments,
        "aspect ratio": aspect_ratio,
        "style": style,
        "language": language,
        "voice": voice,
    }
    return Storyboard(
        prompt=prompt,
        aspect_ratio=aspect_ratio,
        story=story,
        frames=frames,
        options=options,
        placeholder=client.emulated("text") or client.emulated("media"),
        video=f"data:video/mp4;base64,{base64.b64encode(video).decode()}" if video else None,
    )


STYLE = """
:root { color-scheme: light dark; --bg: #f6f4ef; --card: #ffffff; --ink: #1d1d1f; --muted: #6b6b70;
  --accent: #e4572e; --line: #e6e2da; }
@media (prefers-color-scheme: dark) { :root { --bg: #141416; --card: #1f1f23; --ink: #f2f2f4;
  --muted: #a0a0a8; --line: #2e2e34; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { padding: 40px 48px 8px; }
header .kicker { color: var(--accent); font-weight: 700; letter-spacing: .12em; text-transform: uppercase;
  font-size: 12px; }
h1 { margin: 6px 0 4px; font-size: 34px; line-height: 1.15; }
header .meta { color: var(--muted); font-size: 14px; }
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 20px;
  padding: 24px 48px; }
.frame { display: grid; grid-template-columns: 168px 1fr; gap: 18px; align-items: start;
  background: var(--card); border: 1px solid var(--line); border-radius: 14px; padding: 16px;
  box-shadow: 0 1px 2px rgba(0,0,0,.04); }
.frame.wide { grid-template-columns: 1fr; }
.frame img { width: 100%; border-radius: 10px; display: block; object-fit: cover; background: var(--line); }
.frame .no { font-weight: 700; color: var(--accent); font-size: 13px; letter-spacing: .08em; }
.frame .narration { font-size: 18px; margin: 4px 0 10px; }
.frame .visual { color: var(--muted); font-size: 13px; margin: 0; }
.frame .visual b { color: var(--ink); font-weight: 600; }
.layout { display: grid; grid-template-columns: 360px 1fr; align-items: start; }
.layout main { padding-left: 0; }
.short { position: sticky; top: 16px; padding: 24px 24px 24px 48px; }
.short video { width: 100%; border-radius: 14px; background: #000; display: block; }
.short .label { color: var(--muted); font-size: 13px; margin-top: 8px; }
footer { padding: 8px 48px 48px; color: var(--muted); font-size: 13px; }
footer h2 { font-size: 15px; color: var(--ink); margin: 16px 0 8px; }
footer dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
footer dt { font-weight: 600; color: var(--ink); }
footer dd { margin: 0; white-space: pre-wrap; }
.placeholder { margin: 16px 48px 0; padding: 12px 16px; border-radius: 10px; background: #fff3cd;
  color: #664d03; border: 1px solid #ffe69c; font-weight: 600; }
"""
PLACEHOLDER_NOTE = (
    "Placeholder content: the local provider emulator wrote this story and drew these images, "
    "not a model. Set OPENROUTER_API_KEY / GOOGLE_API_KEY for real ones."
)

# Marks each image once it has loaded (or failed), so a check in a browser can read the result.
SCRIPT = """
for (const img of document.images) {
  const mark = () => img.dataset.loaded = String(img.complete && img.naturalWidth > 0);
  img.complete ? mark() : (img.addEventListener('load', mark), img.addEventListener('error', mark));
}
for (const video of document.querySelectorAll('video')) {
  video.addEventListener('playing', () => video.dataset.state = 'playing');
  video.addEventListener('error', () => video.dataset.state = 'error');
  video.play().catch((e) => video.dataset.state = 'blocked:' + e.name);
}
"""


def render_html(board: Storyboard) -> str:
    """The page: title, one card per segment (thumbnail at the requested ratio, narration, the
    visual prompt), and the prompts and options used. Everything inline; no network needed."""
    esc = html.escape
    ratio = RATIOS.get(board.aspect_ratio, "9 / 16")
    wide = " wide" if board.aspect_ratio == "16:9" else ""
    cards = []
    for frame in board.frames:
        segment = frame.segment
        cards.append(
            f'<article class="frame{wide}">'
            f'<img src="{frame.image}" alt="Segment {segment.index}: {esc(segment.visual_prompt)}" '
            f'style="aspect-ratio: {ratio}" width="{540 if wide else 168}">'
            f'<div><div class="no">SEGMENT {segment.index}</div>'
            f'<p class="narration">{esc(segment.text)}</p>'
            f'<p class="visual"><b>Visual prompt.</b> {esc(segment.visual_prompt)}</p></div>'
            "</article>"
        )
    models = sorted({frame.image_model for frame in board.frames})
    used = {"story prompt": board.prompt, **{k: v for k, v in board.options.items() if v is not None}}
    used["story model"] = board.story.model
    if models:
        used["image model"] = ", ".join(models)
    rows = "".join(f"<dt>{esc(str(key))}</dt><dd>{esc(str(value))}</dd>" for key, value in used.items())
    title = esc(board.story.title)
    note = f'<div class="placeholder" role="note">{esc(PLACEHOLDER_NOTE)}</div>' if board.placeholder else ""
    kicker = "Storyboard · placeholder" if board.placeholder else "Storyboard"
    return (
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{title} · storyboard</title><style>{STYLE}</style></head><body>"
        f'<header><div class="kicker">{kicker}</div><h1>{title}</h1>'
        f'<div class="meta">{len(board.frames)} segments · {esc(board.aspect_ratio)}</div></header>'
        + f"{note}"
        + (
            f'<div class="layout"><aside class="short"><video src="{esc(board.video)}" controls muted '
            f'playsinline loop preload="auto" style="aspect-ratio: {ratio}"></video>'
            '<div class="label">The finished short</div></aside>'
            f"<main>{''.join(cards)}</main></div>"
            if board.video
            else f"<main>{''.join(cards)}</main>"
        )
        + f"<footer><h2>Prompts used</h2><dl>{rows}</dl></footer>"
        + f"<script>{SCRIPT}</script></body></html>\n"
    )
