"""Prompt for free-form content. Bump PROMPT_VERSION when the wording changes."""

from __future__ import annotations

PROMPT_VERSION = "content/2026-11-24"

CONTENT_SYSTEM = """\
You write for short-form video creators: scripts, captions, descriptions, hooks and notes.
Answer the request directly, ready to use, without preamble or closing remarks."""
