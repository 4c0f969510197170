"""Stories split into narrated segments: short, long (chunk by chunk) and in alternative sets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from contentgen.config import get_settings
from contentgen.errors import ContentgenError
from contentgen.generation.structured import generate_structured
from contentgen.models.common import CharacterRef, Segment
from contentgen.models.schema import Structured
from contentgen.models.stories import (
    ChunkedStoryRequest,
    ChunkReply,
    SegmentReply,
    StoryOutline,
    StoryReply,
    StorySegmentsRequest,
    StorySegmentsResponse,
    StorySet,
    StorySetsRequest,
    StorySetsResponse,
)
from contentgen.prompts.characters import carry_look
from contentgen.prompts.stories import (
    CHUNK_SYSTEM,
    OUTLINE_SYSTEM,
    STORY_SYSTEM,
    chunk_user_prompt,
    outline_user_prompt,
    set_angle,
    set_user_prompt,
    story_user_prompt,
)

# How many of the previous chunk's segments each chunk sees verbatim.
CARRY_OVER_SEGMENTS = 3


def to_segments(
    replies: Sequence[SegmentReply], *, first_index: int = 1, character: CharacterRef | None = None
) -> list[Segment]:
    """Segments indexed from `first_index`; with a `character`, its look is in every visual_prompt."""
    return [
        Segment(index=index, text=reply.text, visual_prompt=carry_look(reply.visual_prompt, character))
        for index, reply in enumerate(replies, start=first_index)
    ]


def _ask_story(
    *,
    prompt: str,
    segment_count: int,
    style: str | None,
    language: str,
    user: str | None = None,
    character: CharacterRef | None = None,
) -> Structured[StoryReply]:
    return generate_structured(
        StoryReply,
        system=STORY_SYSTEM,
        user=user
        or story_user_prompt(
            prompt=prompt, segment_count=segment_count, style=style, language=language, character=character
        ),
        models=get_settings().text_models,
        lengths={"segments": segment_count},
        temperature=0.9,
    )


def generate_story_segments(request: StorySegmentsRequest) -> StorySegmentsResponse:
    """A story for the prompt in exactly `segment_count` segments, indexed 1..N."""
    reply = _ask_story(
        prompt=request.prompt,
        segment_count=request.segment_count,
        style=request.style,
        language=request.language,
        character=request.character,
    )
    return StorySegmentsResponse(
        title=reply.value.title,
        segments=to_segments(reply.value.segments, character=request.character),
        model=reply.model,
    )


def plan_chunks(total: int, chunk_size: int) -> list[tuple[int, int]]:
    """(first index, segment count) of each chunk: `chunk_size` each, the remainder last."""
    return [(start + 1, min(chunk_size, total - start)) for start in range(0, total, chunk_size)]


def generate_chunked_story(request: ChunkedStoryRequest) -> StorySegmentsResponse:
    """One continuous story of up to 200 segments, written `chunk_size` segments per request.

    An outline (title, characters, arc per chunk) comes first; each chunk then sees the outline,
    a running summary and the last segments verbatim. A chunk that fails validation is re-asked
    alone (in `generate_structured`); if it still fails, or time runs out, the segments already
    written come back with the error as `partial`.

    The outline and each chunk are kept as they are paid (`contentgen.stores.partials`): the next attempt
    of the same request (same idempotency key) reuses the outline and the chunks that follow it
    without a gap, and asks only from the first one missing, with the same prompts an
    uninterrupted run would have sent, so the story stays one continuous story. A chunk kept
    after a missing one (its write failed) is not reused: it continued a text that is rewritten.
    """
    plan = plan_chunks(request.segment_count, request.chunk_size)
    if len(plan) == 1:
        return generate_story_segments(
            StorySegmentsRequest(
                prompt=request.prompt,
                segment_count=request.segment_count,
                style=request.style,
                language=request.language,
                character=request.character,
            )
        )
    # Cold start: the paid-parts store loads in the functions that resume paid work (chunked
    # stories, sets), not in story_segments, which imports this module too.
    from contentgen.stores.partials import paid_once

    models = get_settings().text_models
    outline, resuming = paid_once(
        "outline",
        StoryOutline,
        partial(
            generate_structured,
            StoryOutline,
            system=OUTLINE_SYSTEM,
            user=outline_user_prompt(
                prompt=request.prompt,
                segment_count=request.segment_count,
                chunk_count=len(plan),
                style=request.style,
                language=request.language,
                character=request.character,
            ),
            models=models,
            lengths={"chunks": len(plan)},
            temperature=0.8,
        ),
    )
    outline_json = outline.value.model_dump_json()
    segments: list[Segment] = []
    story_so_far: str | None = None
    answered_by = outline.model
    for part, (first_index, count) in enumerate(plan, start=1):
        user = chunk_user_prompt(
            outline_json=outline_json,
            part=part,
            parts=len(plan),
            first_index=first_index,
            count=count,
            total=request.segment_count,
            story_so_far=story_so_far,
            previous_segments=[segment.text for segment in segments[-CARRY_OVER_SEGMENTS:]],
            style=request.style,
            language=request.language,
            character=request.character,
        )
        ask = partial(
            generate_structured,
            ChunkReply,
            system=CHUNK_SYSTEM,
            user=user,
            models=models,
            lengths={"segments": count},
            temperature=0.8,
        )
        try:
            chunk, resuming = paid_once(f"chunk_{part}", ChunkReply, ask, reuse=resuming)
        except ContentgenError as exc:
            raise exc.with_partial(
                {
                    "title": outline.value.title,
                    "segments": [segment.model_dump() for segment in segments],
                    "completed_chunks": part - 1,
                    "chunks": len(plan),
                }
            ) from exc
        segments.extend(
            to_segments(chunk.value.segments, first_index=first_index, character=request.character)
        )
        story_so_far = chunk.value.story_so_far
        answered_by = chunk.model
    return StorySegmentsResponse(title=outline.value.title, segments=segments, model=answered_by)


def generate_story_sets(request: StorySetsRequest) -> StorySetsResponse:
    """`set_count` different takes on one prompt, requested concurrently (bounded).

    Each set is kept as it is paid (`contentgen.stores.partials`): the next attempt of the same request
    (same idempotency key) asks only for the sets still missing.
    """
    # Cold start: loaded by the function that fans out and resumes, not by story_segments.
    from contentgen.core.parallel import run_bounded
    from contentgen.stores.partials import paid_once

    def take(index: int) -> Callable[[], Structured[StoryReply]]:
        ask = partial(
            _ask_story,
            prompt=request.prompt,
            segment_count=request.segments_per_set,
            style=request.style,
            language=request.language,
            user=set_user_prompt(
                prompt=request.prompt,
                segments=request.segments_per_set,
                index=index,
                total=request.set_count,
                style=request.style,
                language=request.language,
                character=request.character,
            ),
        )
        return lambda: paid_once(f"set_{index}", StoryReply, ask)[0]

    outcomes = run_bounded([take(index) for index in range(1, request.set_count + 1)])
    sets = [
        StorySet(
            index=index,
            angle=set_angle(index),
            title=outcome.value.value.title,
            segments=to_segments(outcome.value.value.segments, character=request.character),
        )
        for index, outcome in enumerate(outcomes, start=1)
        if outcome.value is not None
    ]
    errors = [outcome.error for outcome in outcomes if outcome.error is not None]
    if errors:
        first = errors[0]
        if isinstance(first, ContentgenError):
            raise first.with_partial({"sets": [story_set.model_dump() for story_set in sets]})
        raise first
    models = [outcome.value.model for outcome in outcomes if outcome.value is not None]
    return StorySetsResponse(sets=sets, model=models[0])
