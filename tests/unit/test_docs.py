"""The README and docs/: generated pages current, every relative link and anchor resolving, every
page reachable from the README, the README short, and AWS-only commands kept out of runnable blocks.

Code-block convention (docs/README.md): ```bash / ```sh blocks hold only commands that work on the
local stack without an AWS account; commands that need AWS are in ```console blocks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import Field

from contentgen.config import Settings
from local import config_doc
from local.template import ROOT

DOCS = ROOT / "docs"

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
RUNNABLE = {"bash", "sh", "shell"}
AWS_ONLY = re.compile(r"^\s*(aws|sam deploy|sam build)\b", re.MULTILINE)


def pages() -> list[Path]:
    found = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    client_readme = ROOT / "client" / "README.md"
    return found + ([client_readme] if client_readme.exists() else [])


def slug(heading: str) -> str:
    """GitHub's anchor for a heading, as github-slugger computes it from the rendered text.

    Lower case; markup gone (backticks, `*`, HTML tags, and `_` only where it delimits emphasis);
    punctuation dropped except `-` and `_`; each space one hyphen, runs not collapsed. GitHub keeps
    an underscore inside a word or a code span (heading ATTACK_PATTERN in backticks -> #attack_pattern):
    rvben/rumdl#481
    (fixed in rumdl 0.1.37, 2026-03-04), free2z/zuu#935 (checked against GitHub's /markdown API,
    2026-09-05: `snake_case heading` -> `snake_case-heading`, `_leading emphasis_ here` ->
    `leading-emphasis-here`); one hyphen per space: volcengine/OpenViking#3673. Read 2026-12-07.
    """
    parts = re.split(r"(`+[^`]*`+)", heading.strip().lower())
    text = "".join(
        part.strip("`") if part.startswith("`") else re.sub(r"(?<!\w)_+|_+(?!\w)|\*|<[^>]+>", "", part)
        for part in parts
    )
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    result: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, re.MULTILINE):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def relative_links(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = [a or b for a, b in LINK.findall(text)]
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def test_configuration_page_matches_the_settings() -> None:
    assert config_doc.PAGE.read_text(encoding="utf-8") == config_doc.render(), (
        "docs/configuration.md drifted from the settings: run `make docs`"
    )


def test_a_setting_without_a_docstring_stops_the_generator() -> None:
    class Undocumented(Settings):
        new_knob: int = Field(1, alias="NEW_KNOB")

    with pytest.raises(ValueError, match="NEW_KNOB"):
        config_doc.render(Undocumented)


def test_every_setting_is_described_in_the_page() -> None:
    page = config_doc.PAGE.read_text(encoding="utf-8")
    for field in Settings.model_fields.values():
        assert f"| `{field.alias}` |" in page


@pytest.mark.parametrize("path", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    broken = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with anchor #{anchor}")
    assert not broken, f"{path.relative_to(ROOT)}: {broken}"


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in relative_links(ROOT / "README.md")}
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert not missing, f"docs pages not linked from README.md: {missing}"


def test_the_readme_fits_on_a_screen_or_two() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 200


@pytest.mark.parametrize("path", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_commands_that_need_aws_are_not_in_runnable_blocks(path: Path) -> None:
    for info, body in FENCE.findall(path.read_text(encoding="utf-8")):
        language = info.strip().split(" ")[0]
        assert language, f"{path.name}: a fenced block without an info string: {body[:60]!r}"
        if language in RUNNABLE:
            assert not AWS_ONLY.search(body), (
                f"{path.name}: an AWS command in a ```{language} block (put it in ```console): {body[:80]!r}"
            )


def test_the_checker_finds_what_it_should() -> None:
    """The checks above are not vacuous: links, anchors and slugs are found as GitHub renders them."""
    assert slug("Request path: event → adapter → service") == "request-path-event--adapter--service"
    assert slug("`GET /usage` and budgets") == "get-usage-and-budgets"
    assert relative_links(ROOT / "README.md"), "the README links to nothing"
    assert "docs/architecture.md" in relative_links(ROOT / "README.md")


def test_the_configuration_reference_names_no_pydantic_sentinel() -> None:
    """configuration.md (`make docs`) shows each model setting's real default (the catalog's
    default chain) or "required", never pydantic's `PydanticUndefined` sentinel."""
    rows = [
        line.split("|")[1].strip()
        for line in (ROOT / "docs" / "configuration.md").read_text().splitlines()
        if "PydanticUndefined" in line
    ]

    assert rows == []


def test_deploy_doc_does_not_say_videos_fail_on_the_developer_api() -> None:
    """deploy.md does not tell a team with one Gemini API key that videos answer 503 or that
    Imagen/Veo need Vertex AI: Imagen is shut down and videos run on Gemini Omni there."""
    text = (ROOT / "docs" / "deploy.md").read_text()

    assert "videos then answer\n503" not in text.replace("answer 503", "answer\n503")
    assert "Imagen and Veo need Vertex AI" not in text


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        # GitHub keeps `_` inside a word or a code span (rvben/rumdl#481, free2z/zuu#935).
        ("`VIDEO_JOB_DEADLINE_SECONDS`", "video_job_deadline_seconds"),
        ("Implementation `ATTACK_PATTERN`", "implementation-attack_pattern"),
        ("snake_case heading", "snake_case-heading"),
        # ...and drops the `_` that delimits emphasis, like `*`.
        ("_leading emphasis_ here", "leading-emphasis-here"),
        ("**Bold** and *slanted*", "bold-and-slanted"),
        # One hyphen per space, runs kept (volcengine/OpenViking#3673).
        ("Foo & Bar", "foo--bar"),
    ],
)
def test_a_heading_anchor_is_the_one_github_renders(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_a_link_github_cannot_follow_is_reported(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# The `BREAKER_TABLE` setting\n\n[see](#the-breakertable-setting)\n")
    assert anchors(page) == {"the-breaker_table-setting"}
