"""Issue 25 (found by a probe): a newcomer cannot find the `contentgen short` command in the docs.

README.md sends readers to client/README.md for "every command, waits and exit codes"; issue 25
item 6 names the command `contentgen short "..." --wait --output short.mp4`. The command exists
(`contentgen short --help`, and it works: a 3-segment short saved to an MP4 on the local stack),
but neither client/README.md nor README.md's tour mentions `contentgen short` or
`short-status`, and client/README.md's method list has no `short`.

Public source: the issue's own item 6 and README.md's promise ("every command ... client/README.md").
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_client_readme_documents_the_short_command() -> None:
    text = (ROOT / "client" / "README.md").read_text(encoding="utf-8")
    assert "contentgen short " in text, "client/README.md never shows `contentgen short`"
    assert "short-status" in text, "client/README.md never shows `contentgen short-status`"
