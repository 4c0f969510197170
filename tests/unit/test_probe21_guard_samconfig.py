"""probe21: the lifecycle guard does not read what `sam deploy` actually deploys.

`sam deploy --guided` saves every parameter it asked about into samconfig.toml
(`[default.deploy.parameters] parameter_overrides = "ImageModel=\"...\" ..."`, AWS SAM CLI docs,
"Configuring the AWS SAM CLI" / samconfig), and every later `sam deploy` passes them again, so a
team that deployed once with the old defaults keeps `imagen-4.0-generate-001` for ever, whatever
template.yaml now says. The guard (`local.models.guard`, `make models`, `make test`) reads
template.yaml, env.json, the settings and the catalog only: it reports "every default and
fallback is live" while the next deploy ships a model shut down on 2026-08-17.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from local.models import guard
from local.template import ROOT, TEMPLATE

DAY = date(2026, 12, 6)
RETIRED = "imagen-4.0-generate-001"


def test_the_guard_fails_on_a_samconfig_that_deploys_a_retired_model(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    shutil.copy(TEMPLATE, template)
    shutil.copy(ROOT / "env.json", tmp_path / "env.json")
    samconfig = (
        (ROOT / "samconfig.toml")
        .read_text()
        .replace(
            "resolve_s3 = true\n",
            "resolve_s3 = true\n"
            f'parameter_overrides = "ImageModel=\\"{RETIRED}\\" ImageFallbackModels=\\"gemini-2.5-flash-image\\""\n',
            1,
        )
    )
    assert RETIRED in samconfig
    (tmp_path / "samconfig.toml").write_text(samconfig)

    problems = [str(p) for p in guard(DAY, template=template, env_json=tmp_path / "env.json")]

    assert any(RETIRED in p and "samconfig" in p for p in problems), problems
