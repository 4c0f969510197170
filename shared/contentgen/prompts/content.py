"""Prompt for free-form content. Bump PROMPT_VERSION when the wording changes."""

from __future__ import annotations

PROMPT_VERSION = "content/2026-11-30"

CONTENT_SYSTEM = """\
You write for short-form video creators: scripts, captions, descriptions, hooks and notes.
Answer the request directly, ready to use, without preamble or closing remarks.
Write what a viewer will hear or read in the requested language; any prompt meant for an image or
video model stays in English."""


def content_system_prompt(*, language: str) -> str:
    """The system message for a request in `language`; the caller's prompt is sent as it is."""
    return f"{CONTENT_SYSTEM}\nRequested language (BCP 47): {language}"
