r"""Probe 20: the docs link checker (tests/unit/test_docs.py) against GitHub's rendering.

GitHub keeps `_` in heading anchors (github-slugger strips `[`..`^` and backtick onward, not U+005F;
e.g. go-grip#74, rumdl#481: `### Implementation \`ATTACK_PATTERN\`` -> `#implementation-attack_pattern`).
The checker strips it, so a link GitHub follows is reported broken and a link GitHub cannot follow
passes. And pages already merged are still exempt from the missing-file check."""

from __future__ import annotations

from pathlib import Path

from tests.unit import test_docs


def test_a_heading_with_a_snake_case_setting_keeps_its_underscores() -> None:
    assert test_docs.slug("`VIDEO_JOB_DEADLINE_SECONDS`") == "video_job_deadline_seconds"
    assert test_docs.slug("Implementation `ATTACK_PATTERN`") == "implementation-attack_pattern"


def test_a_link_github_cannot_follow_is_reported(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# The `BREAKER_TABLE` setting\n\n[see](#the-breakertable-setting)\n")
    # GitHub renders the anchor as #the-breaker_table-setting: the link above is dead there.
    assert "the-breakertable-setting" not in test_docs.anchors(page)


def test_no_merged_page_is_still_allowed_to_dangle() -> None:
    """test_docs.PENDING_PAGES: 'Remove an entry when its page is merged'. Both are merged, so
    deleting docs/testing.md or docs/models.md would leave the README's links dead and green."""
    merged = sorted(p.name for p in test_docs.PENDING_PAGES if p.exists())
    assert merged == []
