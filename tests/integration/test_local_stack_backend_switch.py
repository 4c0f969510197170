"""Probe of issue 21's Done-when "Thumbnails and videos succeed with the template's defaults on the
local stack, on BOTH Google backends" and item 3 ("Video on one Gemini Developer API key (the
seed's setup) works end to end: POST /videos starts a job with GOOGLE_GENAI_USE_VERTEXAI=false").

`make api` (`local.stack`) copies every function's template environment over the process
environment (`LocalStack.start`: `environment.update(self.overrides)` then
`os.environ.update(environment)`), so `GOOGLE_GENAI_USE_VERTEXAI=false make api` still runs on
Vertex AI (the template's default `true`): `/health` says `google_vertexai: true` and POST /videos
starts `veo-3.1-fast-generate-001:predictLongRunning` on the Vertex path. There is no switch for
it in docs/local.md either. With a real key (`GOOGLE_API_KEY=<AI Studio key> make api`, the seed's
setup, docs/local.md "Real providers") that key is sent to Vertex AI express mode, which does not
take Gemini Developer API keys ("You also can't reuse API keys between them",
https://github.com/SillyTavern/SillyTavern/pull/3977; express-mode 401 "API keys are not
supported by this API", googleapis/java-genai#1000).

Expected: the local stack honours GOOGLE_GENAI_USE_VERTEXAI=false (as SAM's --parameter-overrides
GoogleGenaiUseVertexai=false would), so the Gemini-API backend can be tried locally.
Manual reproduction (what this test does):
    GOOGLE_GENAI_USE_VERTEXAI=false .venv/bin/python -m local.stack --port 3921 --aws-port 5921 --emulator-port 8921
    curl -s 'http://127.0.0.1:3921/health' -H 'x-api-key: local-contentgen-api-key'   # google_vertexai: true
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import urllib.request

import pytest

from local.template import ROOT

pytestmark = pytest.mark.integration


def test_make_api_honours_google_genai_use_vertexai_false() -> None:
    scrubbed = ("OPENROUTER_API_KEY", "GOOGLE_API_KEY", "DAILY_BUDGET_USD", "AWS_ENDPOINT_URL", "AWS_PROFILE")
    environment = {k: v for k, v in os.environ.items() if k not in scrubbed}
    environment["GOOGLE_GENAI_USE_VERTEXAI"] = "false"
    process = subprocess.Popen(
        [sys.executable, "-m", "local.stack", "--port", "0", "--aws-port", "0", "--emulator-port", "0"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        banner: list[str] = []
        while True:
            line = lines.get(timeout=300)
            assert line is not None, "".join(banner)
            if line.strip() == "requests:":
                break
            banner.append(line)
        api = re.search(r"^local API\s+(http://127\.0\.0\.1:\d+)", "".join(banner), re.M)
        assert api is not None, "".join(banner)
        request = urllib.request.Request(
            f"{api.group(1)}/health", headers={"x-api-key": "local-contentgen-api-key"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            health = json.loads(response.read())
        assert health["configured"]["google_vertexai"] is False, health["configured"]
        assert health["models"]["video"][0].startswith("gemini-omni"), health["models"]
    finally:
        process.terminate()
        process.wait(timeout=60)
