"""`GOOGLE_GENAI_USE_VERTEXAI=false make api` runs the local stack on the Gemini Developer API (issue
21: "Video on one Gemini Developer API key (the seed's setup) works end to end"; Done-when "on
both Google backends").

The stack used to copy every function's template environment over the shell's, so the switch was
ignored and a real AI Studio key (`GOOGLE_API_KEY=... make api`, docs/local.md) went to Vertex AI
express mode, which does not take Gemini Developer API keys ("You also can't reuse API keys
between them", SillyTavern/SillyTavern#3977; express-mode 401 "API keys are not supported by this
API", googleapis/java-genai#1000; both read 2026-12-07). Found by a fresh probe of issue 21.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from contentgen.catalog import default_chain
from local.aws import LOCAL_API_KEY
from tests.integration.conftest import started_make_api

pytestmark = pytest.mark.integration


def test_make_api_honours_google_genai_use_vertexai_false() -> None:
    with started_make_api({"GOOGLE_GENAI_USE_VERTEXAI": "false"}) as stack:
        request = urllib.request.Request(f"{stack.api_url}/health", headers={"x-api-key": LOCAL_API_KEY})
        with urllib.request.urlopen(request, timeout=60) as response:
            health = json.loads(response.read())
    assert health["configured"]["google_vertexai"] is False, health["configured"]
    assert health["models"]["video"][0] == default_chain("video_gemini_api")[0], health["models"]
