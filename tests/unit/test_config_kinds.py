"""Every value the settings accept is usable where it goes (issue 22, "fix their kinds").

Hypothesis draws any text for the settings that end up in HTTP headers (`OPENROUTER_APP_URL`,
`OPENROUTER_APP_TITLE`), in request URLs (the base URLs) and in URL paths and bodies (model ids).
Whatever `Settings` accepts must then be sendable: h11 (the HTTP/1.1 writer under httpx) accepts
the header and the request target, and a model id comes back unchanged from the URL path.
"""

from __future__ import annotations

import h11
import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contentgen.config import Settings
from contentgen.errors import ConfigurationError

ANY_TEXT = st.text(min_size=0, max_size=60) | st.sampled_from(
    ["contentgen", "https://x.example/app", "a\r\nX-Injected: 1", " padded ", "é", "http://h:0/", "x\x00y"]
)
RUNS = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


def accepted(variable: str, value: str) -> Settings | None:
    try:
        return Settings.from_environ({variable: value})
    except ConfigurationError:
        return None


def sendable_header(name: str, value: str) -> None:
    h11.Request(method="POST", target="/", headers=[("Host", "h"), (name, value)])


@RUNS
@given(value=ANY_TEXT)
def test_an_accepted_title_is_a_valid_header_value(value: str) -> None:
    loaded = accepted("OPENROUTER_APP_TITLE", value)
    if loaded is not None:
        sendable_header("X-Title", loaded.openrouter_app_title)


@RUNS
@given(value=ANY_TEXT | st.builds(lambda tail: f"https://{tail}", ANY_TEXT))
def test_an_accepted_app_url_is_a_valid_header_value(value: str) -> None:
    loaded = accepted("OPENROUTER_APP_URL", value)
    if loaded is not None:
        sendable_header("HTTP-Referer", loaded.openrouter_app_url)


@RUNS
@given(value=ANY_TEXT | st.builds(lambda tail: f"https://{tail}", ANY_TEXT))
def test_an_accepted_base_url_can_be_sent_to(value: str) -> None:
    loaded = accepted("OPENROUTER_BASE_URL", value)
    if loaded is None:
        return
    url = httpx2.URL(f"{loaded.openrouter_base_url}/chat/completions")
    assert url.scheme in ("http", "https")
    assert url.host
    h11.Request(method="POST", target=url.raw_path, headers=[(b"Host", url.netloc)])


@RUNS
@given(value=ANY_TEXT)
def test_an_accepted_model_id_survives_a_url_path(value: str) -> None:
    loaded = accepted("IMAGE_MODEL", value)
    if loaded is None:
        return
    url = httpx2.URL(f"https://h/v1beta/models/{loaded.image_model}:generateContent")
    assert url.path == f"/v1beta/models/{loaded.image_model}:generateContent"
    h11.Request(method="POST", target=url.raw_path, headers=[("Host", "h")])


def test_a_header_injection_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="OPENROUTER_APP_TITLE"):
        Settings.from_environ({"OPENROUTER_APP_TITLE": "a\r\nX-Injected: 1"})
